-- Assets a model found nothing to embed in (a picture with no face for
-- the face model), so that 'troupe embed' does not send them again on
-- every run. The model is named, not referenced: a model's row is made
-- by its first vector, and a miss may come first. A vector stored later
-- for the same asset and model removes the miss.

CREATE TABLE embedding_misses (
	model    TEXT NOT NULL,
	asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
	reason   TEXT NOT NULL,
	at       INTEGER NOT NULL,
	PRIMARY KEY (model, asset_id)
) WITHOUT ROWID;
CREATE INDEX embedding_misses_by_asset ON embedding_misses(asset_id);
