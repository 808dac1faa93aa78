-- The film: shots in order, each with its prompt, aspect and duration, a
-- still (its first frame) and its takes, and the take chosen for the cut.
-- A shot may follow another (after_id): it then comes right after that
-- shot wherever that one goes; the rest are placed by scene and position.

CREATE TABLE shots (
	id       INTEGER PRIMARY KEY,
	slug     TEXT NOT NULL UNIQUE
	         CHECK (slug <> '' AND slug NOT GLOB '*[^a-z0-9-]*'),
	scene    INTEGER NOT NULL DEFAULT 1,
	position REAL NOT NULL,
	after_id INTEGER REFERENCES shots(id),
	prompt   TEXT NOT NULL DEFAULT '',
	aspect   TEXT,
	duration REAL CHECK (duration IS NULL OR duration > 0),
	chain    INTEGER NOT NULL DEFAULT 0 CHECK (chain IN (0, 1)),
	still_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
	chosen   INTEGER,
	created  INTEGER NOT NULL,
	updated  INTEGER NOT NULL
);
CREATE INDEX shots_by_after ON shots(after_id);

-- A take is numbered within its shot from 1 and never renumbered. One
-- that failed to generate keeps its request and error, and no asset.
CREATE TABLE shot_takes (
	shot_id    INTEGER NOT NULL REFERENCES shots(id) ON DELETE CASCADE,
	number     INTEGER NOT NULL CHECK (number > 0),
	asset_id   INTEGER REFERENCES assets(id) ON DELETE SET NULL,
	request_id INTEGER REFERENCES requests(id) ON DELETE SET NULL,
	status     TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
	error      TEXT,
	added      INTEGER NOT NULL,
	PRIMARY KEY (shot_id, number),
	UNIQUE (shot_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX shot_takes_by_asset ON shot_takes(asset_id);
CREATE INDEX shots_by_still ON shots(still_id);
