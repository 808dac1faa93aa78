-- Asset ids are written down in shot lists and scripts, so an id once
-- given is never given again: without AUTOINCREMENT SQLite hands out the
-- largest rowid plus one, and removing the newest asset frees its id.
-- The table is rebuilt by SQLite's twelve-step procedure (foreign keys
-- off, checked before commit; db.c does both), keeping every id, and the
-- sequence starts at the largest id there is.

CREATE TABLE assets_new (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	blob_id      INTEGER NOT NULL REFERENCES blobs(id),
	character_id INTEGER REFERENCES characters(id),
	role         TEXT NOT NULL CHECK (role IN ('sheet', 'face', 'turnaround',
	             'expression', 'costume', 'pose', 'prop', 'location',
	             'reference', 'generated')),
	width        INTEGER NOT NULL,
	height       INTEGER NOT NULL,
	format       TEXT NOT NULL,
	source       TEXT,
	added        INTEGER NOT NULL
);
INSERT INTO assets_new(id, blob_id, character_id, role, width, height, format, source, added)
	SELECT id, blob_id, character_id, role, width, height, format, source, added FROM assets;
DROP TABLE assets;
ALTER TABLE assets_new RENAME TO assets;
CREATE INDEX assets_by_character ON assets(character_id, role);
CREATE INDEX assets_by_blob ON assets(blob_id);
CREATE INDEX assets_by_role ON assets(role);
