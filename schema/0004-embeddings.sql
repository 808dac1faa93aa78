-- Embeddings: one float32 vector per (asset, model), unit length, so a
-- dot product is the cosine similarity. A model's dimension is fixed by
-- its first vector. The flat scan file per model (cache/) follows the
-- generation counter the triggers keep.

CREATE TABLE models (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE
	           CHECK (name <> '' AND name NOT GLOB '*[^a-z0-9._-]*'),
	dimension  INTEGER NOT NULL CHECK (dimension BETWEEN 1 AND 65536),
	threshold  REAL,
	generation INTEGER NOT NULL DEFAULT 0,
	vectors    INTEGER NOT NULL DEFAULT 0, -- kept by the triggers: counting
	                                       -- a million rows of blobs is slow
	created    INTEGER NOT NULL
);

CREATE TABLE embeddings (
	asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
	model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	vector   BLOB NOT NULL,
	added    INTEGER NOT NULL,
	PRIMARY KEY (model_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX embeddings_by_asset ON embeddings(asset_id);

CREATE TRIGGER embeddings_insert AFTER INSERT ON embeddings
BEGIN
	UPDATE models SET generation = generation + 1, vectors = vectors + 1
	WHERE id = NEW.model_id;
END;
CREATE TRIGGER embeddings_update AFTER UPDATE ON embeddings
BEGIN
	UPDATE models SET generation = generation + 1 WHERE id = NEW.model_id;
END;
CREATE TRIGGER embeddings_delete AFTER DELETE ON embeddings
BEGIN
	UPDATE models SET generation = generation + 1, vectors = vectors - 1
	WHERE id = OLD.model_id;
END;
