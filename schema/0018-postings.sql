-- The posting lists beside the index (cache/postings.idx, tagindex.c)
-- hold, for every tag, character and role, the ids of its assets. They
-- follow this counter, which moves with every change to which assets a
-- list holds: tags on assets and characters, and assets added, removed
-- or given another character or role. Slugs, kinds and tag names are
-- looked up in the index at query time, so they need no trigger.
INSERT INTO meta(key, value) VALUES ('tag_generation', 0);

CREATE TRIGGER asset_tags_generation_insert AFTER INSERT ON asset_tags
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'tag_generation';
END;
CREATE TRIGGER asset_tags_generation_update AFTER UPDATE ON asset_tags
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'tag_generation';
END;
CREATE TRIGGER asset_tags_generation_delete AFTER DELETE ON asset_tags
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'tag_generation';
END;
CREATE TRIGGER character_tags_generation_insert AFTER INSERT ON character_tags
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'tag_generation';
END;
CREATE TRIGGER character_tags_generation_update AFTER UPDATE ON character_tags
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'tag_generation';
END;
CREATE TRIGGER character_tags_generation_delete AFTER DELETE ON character_tags
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'tag_generation';
END;
CREATE TRIGGER assets_generation_insert AFTER INSERT ON assets
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'tag_generation';
END;
CREATE TRIGGER assets_generation_update AFTER UPDATE OF id, character_id, role ON assets
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'tag_generation';
END;
CREATE TRIGGER assets_generation_delete AFTER DELETE ON assets
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'tag_generation';
END;
