-- Garbage collection: when each blob was first seen unreferenced, and
-- what used to name it, so that gc frees a blob only after a grace period
-- and can say why it goes. Invariant: a row's first_seen is never earlier
-- than the moment its blob lost its last reference. Every way a reference
-- goes away (an asset removed, a request pruned with its references, an
-- upload forgotten, a thumbnail or derivative row removed with its
-- source) records the time it happened, the latest one winning; gc adds
-- the blobs it finds unreferenced with no row yet (the time of that run)
-- and drops the rows of blobs that are named again. A row is a note, not
-- a reference: gc marks from the references themselves every time.

CREATE TABLE gc_unreferenced (
	hash       TEXT PRIMARY KEY CHECK (length(hash) = 32),
	first_seen INTEGER NOT NULL,
	was        TEXT
) WITHOUT ROWID;

CREATE TRIGGER gc_asset_removed AFTER DELETE ON assets
BEGIN
	INSERT INTO gc_unreferenced(hash, first_seen, was)
		SELECT hash, CAST(strftime('%s', 'now') AS INTEGER),
		       'asset #' || OLD.id || ' (' || OLD.role || coalesce(', ' || OLD.source, '') || ')'
		FROM blobs WHERE id = OLD.blob_id
		ON CONFLICT(hash) DO UPDATE SET first_seen = excluded.first_seen, was = excluded.was;
	INSERT INTO gc_unreferenced(hash, first_seen, was)
		SELECT b.hash, CAST(strftime('%s', 'now') AS INTEGER), 'the thumbnail of asset #' || OLD.id
		FROM thumbnails t JOIN blobs b ON b.id = t.thumb_blob_id WHERE t.blob_id = OLD.blob_id
		ON CONFLICT(hash) DO UPDATE SET first_seen = excluded.first_seen, was = excluded.was;
	INSERT INTO gc_unreferenced(hash, first_seen, was)
		SELECT b.hash, CAST(strftime('%s', 'now') AS INTEGER),
		       'a derivative of asset #' || OLD.id || ' (' || d.recipe || ')'
		FROM derivatives d JOIN blobs b ON b.id = d.blob_id WHERE d.source_blob_id = OLD.blob_id
		ON CONFLICT(hash) DO UPDATE SET first_seen = excluded.first_seen, was = excluded.was;
END;

CREATE TRIGGER gc_request_ref_removed AFTER DELETE ON request_refs
BEGIN
	INSERT INTO gc_unreferenced(hash, first_seen, was)
		SELECT OLD.source_hash, CAST(strftime('%s', 'now') AS INTEGER),
		       'a reference of request #' || OLD.request_id WHERE length(OLD.source_hash) = 32
		ON CONFLICT(hash) DO UPDATE SET first_seen = excluded.first_seen, was = excluded.was;
	INSERT INTO gc_unreferenced(hash, first_seen, was)
		SELECT OLD.sent_hash, CAST(strftime('%s', 'now') AS INTEGER),
		       'what request #' || OLD.request_id || ' sent' WHERE length(OLD.sent_hash) = 32
		ON CONFLICT(hash) DO UPDATE SET first_seen = excluded.first_seen, was = excluded.was;
END;

CREATE TRIGGER gc_upload_removed AFTER DELETE ON uploads
BEGIN
	INSERT INTO gc_unreferenced(hash, first_seen, was)
		SELECT OLD.sent_hash, CAST(strftime('%s', 'now') AS INTEGER),
		       'an upload to ' || OLD.endpoint WHERE length(OLD.sent_hash) = 32
		ON CONFLICT(hash) DO UPDATE SET first_seen = excluded.first_seen, was = excluded.was;
END;

CREATE TRIGGER gc_thumbnail_removed AFTER DELETE ON thumbnails
BEGIN
	INSERT INTO gc_unreferenced(hash, first_seen, was)
		SELECT hash, CAST(strftime('%s', 'now') AS INTEGER), 'a thumbnail'
		FROM blobs WHERE id = OLD.thumb_blob_id
		ON CONFLICT(hash) DO UPDATE SET first_seen = excluded.first_seen;
END;

CREATE TRIGGER gc_derivative_removed AFTER DELETE ON derivatives
BEGIN
	INSERT INTO gc_unreferenced(hash, first_seen, was)
		SELECT hash, CAST(strftime('%s', 'now') AS INTEGER), 'a derivative (' || OLD.recipe || ')'
		FROM blobs WHERE id = OLD.blob_id
		ON CONFLICT(hash) DO UPDATE SET first_seen = excluded.first_seen;
END;
