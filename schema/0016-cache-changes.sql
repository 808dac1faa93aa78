-- Caches that grow with the change: a log of what each generation step
-- touched, so that the flat files beside the index (cache/phash.idx and
-- cache/vectors-MODEL.f32) can be brought up to date by applying the
-- last changes instead of being rebuilt whole. The triggers that count
-- the generations write one row per step and keep only the last 100,000
-- steps: a cache further behind than that is rebuilt, as is one whose
-- steps are not all in the log (a step made without a row, such as a
-- model's reset, leaves a gap on purpose).

CREATE TABLE embedding_changes (
	model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	generation INTEGER NOT NULL, -- the model's generation after the step
	asset_id   INTEGER NOT NULL, -- whose vector was added, changed or removed
	PRIMARY KEY (model_id, generation)
) WITHOUT ROWID;

CREATE TABLE phash_changes (
	generation INTEGER PRIMARY KEY, -- phash_generation after the step
	blob_id    INTEGER NOT NULL     -- whose pHash was added, changed or removed
);

DROP TRIGGER embeddings_insert;
DROP TRIGGER embeddings_update;
DROP TRIGGER embeddings_delete;
CREATE TRIGGER embeddings_insert AFTER INSERT ON embeddings
BEGIN
	UPDATE models SET generation = generation + 1, vectors = vectors + 1
	WHERE id = NEW.model_id;
	INSERT INTO embedding_changes(model_id, generation, asset_id)
	SELECT id, generation, NEW.asset_id FROM models WHERE id = NEW.model_id;
	DELETE FROM embedding_changes WHERE model_id = NEW.model_id AND generation <=
		(SELECT generation FROM models WHERE id = NEW.model_id) - 100000;
END;
-- A row moved to another asset or model is a step with no log row: the
-- gap makes the cache rebuild, which is right for so rare a change.
CREATE TRIGGER embeddings_update AFTER UPDATE ON embeddings
BEGIN
	UPDATE models SET generation = generation + 1 WHERE id = NEW.model_id;
	INSERT INTO embedding_changes(model_id, generation, asset_id)
	SELECT id, generation, NEW.asset_id FROM models
	WHERE id = NEW.model_id AND OLD.asset_id = NEW.asset_id AND OLD.model_id = NEW.model_id;
	UPDATE models SET generation = generation + 1
	WHERE id IN (OLD.model_id, NEW.model_id)
	  AND (OLD.asset_id <> NEW.asset_id OR OLD.model_id <> NEW.model_id);
	DELETE FROM embedding_changes WHERE model_id = NEW.model_id AND generation <=
		(SELECT generation FROM models WHERE id = NEW.model_id) - 100000;
END;
CREATE TRIGGER embeddings_delete AFTER DELETE ON embeddings
BEGIN
	UPDATE models SET generation = generation + 1, vectors = vectors - 1
	WHERE id = OLD.model_id;
	INSERT INTO embedding_changes(model_id, generation, asset_id)
	SELECT id, generation, OLD.asset_id FROM models WHERE id = OLD.model_id;
	DELETE FROM embedding_changes WHERE model_id = OLD.model_id AND generation <=
		(SELECT generation FROM models WHERE id = OLD.model_id) - 100000;
END;

DROP TRIGGER blobs_phash_insert;
DROP TRIGGER blobs_phash_update;
DROP TRIGGER blobs_phash_delete;
CREATE TRIGGER blobs_phash_insert AFTER INSERT ON blobs WHEN NEW.phash IS NOT NULL
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'phash_generation';
	INSERT INTO phash_changes(generation, blob_id)
	SELECT value, NEW.id FROM meta WHERE key = 'phash_generation';
	DELETE FROM phash_changes WHERE generation <=
		(SELECT value FROM meta WHERE key = 'phash_generation') - 100000;
END;
CREATE TRIGGER blobs_phash_update AFTER UPDATE OF phash ON blobs
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'phash_generation';
	INSERT INTO phash_changes(generation, blob_id)
	SELECT value, NEW.id FROM meta WHERE key = 'phash_generation' AND OLD.id = NEW.id;
	UPDATE meta SET value = value + 1 WHERE key = 'phash_generation' AND OLD.id <> NEW.id;
	DELETE FROM phash_changes WHERE generation <=
		(SELECT value FROM meta WHERE key = 'phash_generation') - 100000;
END;
CREATE TRIGGER blobs_phash_delete AFTER DELETE ON blobs WHEN OLD.phash IS NOT NULL
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'phash_generation';
	INSERT INTO phash_changes(generation, blob_id)
	SELECT value, OLD.id FROM meta WHERE key = 'phash_generation';
	DELETE FROM phash_changes WHERE generation <=
		(SELECT value FROM meta WHERE key = 'phash_generation') - 100000;
END;
