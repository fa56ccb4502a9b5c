-- Report counts per (status, origin), moved in the same transaction as each
-- ingest and review, so the intake total is a lookup rather than a count
-- over every report. Filters other than status/origin still count rows.
CREATE TABLE intake_counts (
    status TEXT   NOT NULL,
    origin TEXT   NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (status, origin)
);
INSERT INTO intake_counts (status, origin, n)
    SELECT status, origin, COUNT(*) FROM reports GROUP BY status, origin;
