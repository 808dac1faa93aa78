-- Elements of a film beside characters: every element a prompt can
-- mention is a row of characters with its kind, so a slug names one
-- element whatever its kind (the table's UNIQUE slug keeps that) and
-- every existing row stays a character. A look is a character's named
-- wardrobe or age; its assets are the character's assets tagged
-- look:NAME, so the tag namespace and the look are one thing.

ALTER TABLE characters ADD COLUMN kind TEXT NOT NULL DEFAULT 'character'
	CHECK (kind IN ('character', 'location', 'prop', 'style'));
CREATE INDEX characters_by_kind ON characters(kind, slug);

CREATE TABLE looks (
	id           INTEGER PRIMARY KEY,
	character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
	name         TEXT NOT NULL
	             CHECK (name <> '' AND name NOT GLOB '*[^a-z0-9-]*'),
	description  TEXT NOT NULL DEFAULT '',
	negative     TEXT NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,
	UNIQUE (character_id, name)
);
