-- The request log: every inject and generate, what was sent (base64
-- payloads replaced by the hash of the blob they carried), what came back,
-- and which references and outputs it involved.

CREATE TABLE requests (
	id          INTEGER PRIMARY KEY,
	kind        TEXT NOT NULL CHECK (kind IN ('inject', 'generate')),
	profile     TEXT NOT NULL,
	prompt      TEXT,
	request     TEXT,
	response    TEXT,
	status      TEXT NOT NULL CHECK (status IN ('injected', 'running', 'succeeded', 'failed')),
	error       TEXT,
	http_status INTEGER,
	started     INTEGER NOT NULL,
	duration_ms INTEGER
);
CREATE INDEX requests_by_profile ON requests(profile, id);

CREATE TABLE request_characters (
	request_id   INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
	character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
	PRIMARY KEY (request_id, character_id)
) WITHOUT ROWID;
CREATE INDEX request_characters_by_character ON request_characters(character_id, request_id);

-- A reference keeps the hashes of its source and of what was sent, so the
-- trail survives the asset row being removed.
CREATE TABLE request_refs (
	request_id  INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	asset_id    INTEGER REFERENCES assets(id) ON DELETE SET NULL,
	source_hash TEXT NOT NULL,
	sent_hash   TEXT NOT NULL,
	tag         TEXT,
	PRIMARY KEY (request_id, position)
) WITHOUT ROWID;

CREATE TABLE request_outputs (
	request_id INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
	asset_id   INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
	url        TEXT,
	PRIMARY KEY (request_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX request_outputs_by_asset ON request_outputs(asset_id);
