-- The first schema of the troupe index. Every blob row names a file under
-- objects/ that was fsynced and linked into place before the row committed.

CREATE TABLE blobs (
	id      INTEGER PRIMARY KEY,
	hash    TEXT NOT NULL UNIQUE CHECK (length(hash) = 32),
	bytes   INTEGER NOT NULL CHECK (bytes >= 0),
	added   INTEGER NOT NULL
);

CREATE TABLE characters (
	id          INTEGER PRIMARY KEY,
	slug        TEXT NOT NULL UNIQUE
	            CHECK (slug <> '' AND slug NOT GLOB '*[^a-z0-9-]*'),
	name        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	negative    TEXT NOT NULL DEFAULT '',
	seed        INTEGER,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL
);

CREATE TABLE character_aliases (
	character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
	alias        TEXT NOT NULL,
	PRIMARY KEY (character_id, alias)
) WITHOUT ROWID;

-- A tag is a (namespace, value) pair; the empty namespace holds plain tags.
CREATE TABLE tags (
	id    INTEGER PRIMARY KEY,
	ns    TEXT NOT NULL DEFAULT '',
	value TEXT NOT NULL CHECK (value <> ''),
	UNIQUE (ns, value)
);

CREATE TABLE assets (
	id           INTEGER PRIMARY KEY,
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
CREATE INDEX assets_by_character ON assets(character_id, role);
CREATE INDEX assets_by_blob ON assets(blob_id);
CREATE INDEX assets_by_role ON assets(role);

-- Both tag tables are covering in both directions: (owner, tag) for
-- listing an owner's tags, (tag, owner) for the query language.
CREATE TABLE asset_tags (
	asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
	tag_id   INTEGER NOT NULL REFERENCES tags(id),
	PRIMARY KEY (asset_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX asset_tags_by_tag ON asset_tags(tag_id, asset_id);

CREATE TABLE character_tags (
	character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
	tag_id       INTEGER NOT NULL REFERENCES tags(id),
	PRIMARY KEY (character_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX character_tags_by_tag ON character_tags(tag_id, character_id);
