-- inject --dry-run records its request with the status 'preview', so that
-- a listing can leave previews out. SQLite cannot change a CHECK
-- constraint in place: the table is rebuilt by the twelve-step procedure
-- (foreign keys off, checked before commit; db.c does both), keeping every
-- id, so the references, characters and outputs still point at their rows.

CREATE TABLE requests_new (
	id          INTEGER PRIMARY KEY,
	kind        TEXT NOT NULL CHECK (kind IN ('inject', 'generate')),
	profile     TEXT NOT NULL,
	prompt      TEXT,
	request     TEXT,
	response    TEXT,
	status      TEXT NOT NULL
	            CHECK (status IN ('injected', 'preview', 'running', 'succeeded', 'failed')),
	error       TEXT,
	http_status INTEGER,
	started     INTEGER NOT NULL,
	duration_ms INTEGER,
	pid         INTEGER,
	pid_start   INTEGER,
	host        TEXT
);
INSERT INTO requests_new(id, kind, profile, prompt, request, response, status, error,
			 http_status, started, duration_ms, pid, pid_start, host)
	SELECT id, kind, profile, prompt, request, response, status, error, http_status,
	       started, duration_ms, pid, pid_start, host FROM requests;
DROP TABLE requests;
ALTER TABLE requests_new RENAME TO requests;
CREATE INDEX requests_by_profile ON requests(profile, id);
