-- Images: thumbnails, perceptual hashes and cached derivatives, all blobs
-- in the same store, linked to the blob they were made from.

-- A 64-bit pHash of the picture (see image.c), stored as a signed integer;
-- NULL for blobs that are not source images (thumbnails, derivatives).
ALTER TABLE blobs ADD COLUMN phash INTEGER;

CREATE TABLE thumbnails (
	blob_id       INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	thumb_blob_id INTEGER NOT NULL REFERENCES blobs(id),
	width         INTEGER NOT NULL,
	height        INTEGER NOT NULL
);

-- A derivative is keyed by its source and its canonical recipe text, so
-- the same request never does the image work twice.
CREATE TABLE derivatives (
	source_blob_id INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
	recipe         TEXT NOT NULL,
	blob_id        INTEGER NOT NULL REFERENCES blobs(id),
	width          INTEGER NOT NULL,
	height         INTEGER NOT NULL,
	format         TEXT NOT NULL,
	created        INTEGER NOT NULL,
	PRIMARY KEY (source_blob_id, recipe)
) WITHOUT ROWID;

-- An alias names one character, or a mention could reach the wrong one.
CREATE UNIQUE INDEX character_aliases_unique ON character_aliases(alias);

-- Counters that let caches beside the index (the flat pHash file) tell in
-- one row read whether they are stale.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES ('phash_generation', 0);

CREATE TRIGGER blobs_phash_insert AFTER INSERT ON blobs WHEN NEW.phash IS NOT NULL
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'phash_generation';
END;
CREATE TRIGGER blobs_phash_update AFTER UPDATE OF phash ON blobs
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'phash_generation';
END;
CREATE TRIGGER blobs_phash_delete AFTER DELETE ON blobs WHEN OLD.phash IS NOT NULL
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'phash_generation';
END;
