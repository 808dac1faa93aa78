-- A model's identity beside its name: the network that made its vectors
-- and that network's version, as the embedding service reports them, so
-- that vectors of two networks never mix under one name (NULL: vectors
-- stored before troupe recorded it, or imported). And, with each vector,
-- where the face it describes is: its box as fractions of the picture's
-- width and height, the detector's score, and how many faces the picture
-- held (NULL when the service does not say).

ALTER TABLE models ADD COLUMN network TEXT;
ALTER TABLE models ADD COLUMN version TEXT;

ALTER TABLE embeddings ADD COLUMN box_x REAL;
ALTER TABLE embeddings ADD COLUMN box_y REAL;
ALTER TABLE embeddings ADD COLUMN box_w REAL;
ALTER TABLE embeddings ADD COLUMN box_h REAL;
ALTER TABLE embeddings ADD COLUMN score REAL;
ALTER TABLE embeddings ADD COLUMN faces INTEGER;
