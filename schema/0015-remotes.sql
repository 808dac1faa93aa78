-- Remotes: S3-compatible object storage this store pushes to and pulls
-- from. Where a remote is, never how to sign for it: the keys come from
-- the environment or the AWS CLI's shared credentials file at run time.
CREATE TABLE remotes (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	bucket     TEXT NOT NULL,
	prefix     TEXT NOT NULL DEFAULT '',
	endpoint   TEXT NOT NULL,
	region     TEXT NOT NULL DEFAULT 'us-east-1',
	path_style INTEGER NOT NULL DEFAULT 0 CHECK (path_style IN (0, 1)),
	created    INTEGER NOT NULL
);

-- What each element was when it was last pushed to or pulled from a
-- remote: the SHA-256 of its manifest here and of the one there, so that
-- a change on both sides since is told from a change on one.
CREATE TABLE remote_sync (
	remote        INTEGER NOT NULL REFERENCES remotes(id) ON DELETE CASCADE,
	slug          TEXT NOT NULL,
	local_sha256  TEXT NOT NULL CHECK (length(local_sha256) = 64),
	remote_sha256 TEXT NOT NULL CHECK (length(remote_sha256) = 64),
	synced        INTEGER NOT NULL,
	PRIMARY KEY (remote, slug)
) WITHOUT ROWID;
