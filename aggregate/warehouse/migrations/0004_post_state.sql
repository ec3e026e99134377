-- A post's state: live, private (the author hid it) or deleted. A snapshot
-- of a private or deleted post carries no counters (NULL, never zero), so
-- the rollups keep the post's last counters; the state itself is kept here.
-- Rows written before this column existed are of live posts.
ALTER TABLE snapshots ADD COLUMN IF NOT EXISTS state LowCardinality(String) DEFAULT 'live' AFTER observed_at;

-- Each post's current state and since when it has been in it (the first
-- snapshot of the latest run of that state), e.g. for "private since …".
-- observed_at is the newest snapshot's. A post made visible again is live
-- since the snapshot that saw it back.
CREATE VIEW IF NOT EXISTS post_state AS
SELECT
    platform,
    ambassador_id,
    post_id,
    h[-1].2                                            AS state,
    h[arrayLastIndex(x -> x.2 != h[-1].2, h) + 1].1    AS since,
    h[-1].1                                            AS observed_at
FROM
(
    SELECT
        platform,
        post_id,
        any(ambassador_id)                                        AS ambassador_id,
        arraySort(x -> x.1, groupArray((observed_at, state)))     AS h
    FROM snapshots
    GROUP BY platform, post_id
);
