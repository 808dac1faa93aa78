-- Videos: what the probe read from a video's header, beside the width,
-- height and format every asset has (NULL for pictures and for videos
-- stored before troupe could read them); and where a frame stored as an
-- asset came from: which video asset, and its time in seconds.

ALTER TABLE assets ADD COLUMN duration REAL;
ALTER TABLE assets ADD COLUMN fps REAL;
ALTER TABLE assets ADD COLUMN codec TEXT;

CREATE TABLE asset_frames (
	asset_id INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
	video_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
	t        REAL NOT NULL
);
CREATE INDEX asset_frames_by_video ON asset_frames(video_id);
