-- What the last check of a take found: a take is checked like a video by
-- troupe check, against the characters its shot mentions, and the
-- verdict is kept with the model and threshold it was reached with, so
-- the board and the shot's listing say it without checking again. A new
-- check of the take replaces the old one; removing the take removes it.
-- verdict: same, drifted, no face, unreadable, or failed (the take has
-- no video to check: it failed to generate, or its asset was removed).

CREATE TABLE take_checks (
	shot_id        INTEGER NOT NULL,
	number         INTEGER NOT NULL,
	verdict        TEXT NOT NULL
	               CHECK (verdict IN ('same', 'drifted', 'no face', 'unreadable', 'failed')),
	model          TEXT NOT NULL,
	threshold      REAL NOT NULL,
	threshold_from TEXT NOT NULL CHECK (threshold_from IN ('given', 'calibrated', 'default')),
	rate           REAL NOT NULL,
	sustain        REAL NOT NULL,
	frames         INTEGER NOT NULL DEFAULT 0,
	reason         TEXT,
	checked        INTEGER NOT NULL,
	PRIMARY KEY (shot_id, number),
	FOREIGN KEY (shot_id, number) REFERENCES shot_takes(shot_id, number) ON DELETE CASCADE
) WITHOUT ROWID;

-- Each character's figures in that check, in the order the prompt
-- mentions them; look is the look it was mentioned with ('' for none).
CREATE TABLE take_check_cast (
	shot_id      INTEGER NOT NULL,
	number       INTEGER NOT NULL,
	place        INTEGER NOT NULL,
	character    TEXT NOT NULL,
	look         TEXT NOT NULL DEFAULT '',
	verdict      TEXT NOT NULL
	             CHECK (verdict IN ('same', 'drifted', 'no face', 'unreadable', 'missing')),
	worst        REAL,
	worst_at     REAL,
	first_drift  REAL,
	found        REAL NOT NULL DEFAULT 0,
	frames_below INTEGER NOT NULL DEFAULT 0,
	looks_like   TEXT,
	PRIMARY KEY (shot_id, number, place),
	FOREIGN KEY (shot_id, number) REFERENCES take_checks(shot_id, number) ON DELETE CASCADE
) WITHOUT ROWID;
