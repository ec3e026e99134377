-- post_state at 100x the seed campaign: after 0011 its cost is the posts
-- back in a state they were in before (live, private, live again; 2,400
-- of 280,700 at 100x). Such a post is in its state since the first snapshot
-- after the last one in another state, which no aggregate of a fixed size
-- gives when snapshots arrive out of order, so 0011 read their snapshots
-- through snapshots' sorting key: granules of 8,192 rows, ~66 posts each,
-- nearly half of the table at 100x, and each post's runs aggregated three
-- times to find them (4 to 6 s of post_state's 5 s).
--
-- Two narrow tables, kept by materialized views on snapshots:
-- post_observations holds each snapshot's time sorted by post in small
-- granules (256 rows: a post's snapshots are one or two granules), and
-- post_state_changes the snapshots of a post not live (a few per
-- thousand): a post back in an earlier state always has one, so those
-- posts are the only ones whose runs are looked at again.
--
-- Exact under retries and merges: both tables only answer "is there a
-- snapshot of this post at this time" (a minimum, a membership), so a row
-- written twice changes nothing, whatever the deduplication does; they
-- collapse twins anyway (ReplacingMergeTree), and the views' INSERTs are
-- deduplicated as the sink's own (deduplicate_blocks_in_dependent_
-- materialized_views, which the sink sets: each view's block gets a token
-- derived from the sink's insert_deduplication_token, and a retried block
-- the source drops as a duplicate still reaches the views, whose tables
-- drop what they already have). Their TTL is snapshots' own.
CREATE TABLE IF NOT EXISTS post_observations
(
    platform          LowCardinality(String),
    post_id           String,
    observed_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(observed_at)
ORDER BY (platform, post_id, observed_at)
TTL toDateTime(observed_at) + INTERVAL 400 DAY
SETTINGS index_granularity = 256, non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS post_state_changes
(
    platform          LowCardinality(String),
    post_id           String,
    observed_at       DateTime64(3, 'UTC'),
    state             LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(observed_at)
ORDER BY (platform, post_id, observed_at)
TTL toDateTime(observed_at) + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS post_observations_from_snapshots TO post_observations AS
SELECT platform, post_id, observed_at
FROM snapshots;

CREATE MATERIALIZED VIEW IF NOT EXISTS post_state_changes_from_snapshots TO post_state_changes AS
SELECT platform, post_id, observed_at, state
FROM snapshots
WHERE state != 'live';

-- What was written before the views; a snapshot written in between is in
-- both, which changes nothing (above).
INSERT INTO post_observations (platform, post_id, observed_at)
SELECT platform, post_id, observed_at
FROM snapshots
SETTINGS max_partitions_per_insert_block = 1000;

INSERT INTO post_state_changes (platform, post_id, observed_at, state)
SELECT platform, post_id, observed_at, state
FROM snapshots
WHERE state != 'live'
SETTINGS max_partitions_per_insert_block = 1000;

-- post_state as in 0011 (same columns, same rows): the runs from snapshots'
-- projection post_runs; the since of a post back in an earlier state from
-- post_observations, for the posts of post_state_changes only.
CREATE OR REPLACE VIEW post_state AS
WITH runs AS
(
    SELECT
        platform,
        post_id,
        any(ambassador_id)                          AS an_ambassador_id,
        groupUniqArray(ambassador_id)               AS ambassador_ids,
        argMax(account_id, observed_at)             AS account_id,
        argMax(state, observed_at)                  AS current_state,
        min(observed_at)                            AS first_observed_at,
        max(observed_at)                            AS newest_observed_at,
        multiIf(current_state = 'live',    maxIf(observed_at, state != 'live'),
                current_state = 'private', maxIf(observed_at, state != 'private'),
                                           maxIf(observed_at, state != 'deleted')) AS last_other_at,
        multiIf(current_state = 'live',    minIf(observed_at, state = 'live'),
                current_state = 'private', minIf(observed_at, state = 'private'),
                                           minIf(observed_at, state = 'deleted'))  AS first_current_at
    FROM snapshots
    GROUP BY platform, post_id
)
SELECT
    r.platform                                                        AS platform,
    r.an_ambassador_id                                                AS ambassador_id,
    r.account_id                                                      AS account_id,
    r.post_id                                                         AS post_id,
    r.current_state                                                   AS state,
    multiIf(r.last_other_at = toDateTime64(0, 3, 'UTC'), r.first_observed_at,
            r.first_current_at > r.last_other_at,        r.first_current_at,
                                                         c.since)     AS since,
    r.newest_observed_at                                              AS observed_at
FROM runs AS r
LEFT JOIN
(
    SELECT o.platform AS platform, o.post_id AS post_id, min(o.observed_at) AS since
    FROM post_observations AS o
    INNER JOIN
    (
        SELECT platform, post_id, last_other_at
        FROM runs
        WHERE (platform, post_id) IN (SELECT platform, post_id FROM post_state_changes)
          AND last_other_at != toDateTime64(0, 3, 'UTC') AND first_current_at <= last_other_at
    ) AS m ON m.platform = o.platform AND m.post_id = o.post_id
    WHERE o.observed_at > m.last_other_at
      AND (o.platform, o.post_id) IN (SELECT platform, post_id FROM post_state_changes)
    GROUP BY o.platform, o.post_id
) AS c ON c.platform = r.platform AND c.post_id = r.post_id;
