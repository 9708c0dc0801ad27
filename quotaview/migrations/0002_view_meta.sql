-- Whether this copy of the view has been replaced by a rebuilt one. A writer checks it
-- (under a share lock) at the start of every batch, so a swap never lets a batch land in
-- the copy that was just retired.
CREATE TABLE view_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    retired BOOLEAN NOT NULL DEFAULT false
);
INSERT INTO view_meta (id) VALUES (1);
