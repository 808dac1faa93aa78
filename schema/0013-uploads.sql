-- What a service was given by upload, so that a reference is named by the
-- id the service returned instead of being sent again. A row belongs to
-- one upload endpoint and one account: the account is an HMAC-SHA-256 of
-- the key under this store's own salt, never the key, so another key
-- never finds this account's ids and the index holds nothing that signs a
-- request. expires is NULL where the service documents no lifetime.

CREATE TABLE upload_salt (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	salt BLOB NOT NULL CHECK (length(salt) = 32)
);
INSERT INTO upload_salt(id, salt) VALUES (1, randomblob(32));

CREATE TABLE uploads (
	endpoint   TEXT NOT NULL,
	account    TEXT NOT NULL CHECK (length(account) = 64),
	sent_hash  TEXT NOT NULL,
	service_id TEXT NOT NULL,
	numeric    INTEGER NOT NULL DEFAULT 0 CHECK (numeric IN (0, 1)),
	created    INTEGER NOT NULL,
	expires    INTEGER,
	PRIMARY KEY (endpoint, account, sent_hash)
) WITHOUT ROWID;

-- How each reference of a request reached the service: sent up just now,
-- or named by an id an earlier upload got. NULL: not an upload profile.
ALTER TABLE request_refs ADD COLUMN upload TEXT CHECK (upload IN ('uploaded', 'reused'));
