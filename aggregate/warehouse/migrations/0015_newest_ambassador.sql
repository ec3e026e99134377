-- Two changes to post_state and its kin. (Below: post_state reads its runs
-- once.)
--
-- A post's ambassador in post_state, post_state_runs, freshness and
-- amplifications is the one of its newest snapshot. Before, it was
-- any(ambassador_id): for a post whose account moved to another ambassador
-- (its snapshots carry both), which one was not defined, and the answer
-- could change as parts merged or with the projection on or off. The
-- newest is the answer now, as post_facts_latest takes the newest facts'
-- ambassador. (The
-- counters stay with the ambassador they were counted under: post_hourly,
-- post_latest and posts give such a post a row under each.)
--
-- snapshots' projection post_runs (0011) is rebuilt with the newest
-- ambassador in place of any one of them (and without groupUniqArray of
-- them, which no view reads since 0013). Until MATERIALIZE has reached a
-- part, queries read that part's rows: slower, the same answers.
ALTER TABLE snapshots DROP PROJECTION IF EXISTS post_runs;

ALTER TABLE snapshots ADD PROJECTION IF NOT EXISTS post_runs
(
    SELECT
        platform, post_id,
        argMax(ambassador_id, observed_at),
        argMax(account_id, observed_at), argMax(state, observed_at),
        min(observed_at), max(observed_at),
        maxIf(observed_at, state != 'live'), maxIf(observed_at, state != 'private'), maxIf(observed_at, state != 'deleted'),
        minIf(observed_at, state = 'live'), minIf(observed_at, state = 'private'), minIf(observed_at, state = 'deleted')
    GROUP BY platform, post_id
);

ALTER TABLE snapshots MATERIALIZE PROJECTION post_runs;

-- post_state_runs, freshness (0005) and amplifications (0012) as before,
-- the ambassador aside; post_state_runs gains first_current_at (when the
-- post's current state was first seen), which post_state needs.
CREATE OR REPLACE VIEW post_state_runs AS
SELECT
    platform,
    post_id,
    argMax(ambassador_id, observed_at)          AS ambassador_id,
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
GROUP BY platform, post_id;

-- post_state as in 0013 (same columns; same rows, the ambassador aside),
-- reading the runs once: a post back in a state it was in before is in
-- it since its first snapshot after its last one in another state, now
-- picked from the times of its snapshots (post_observations, for the posts
-- of post_state_changes only, as in 0013), given the run's last_other_at.
-- 0013 read the runs a second time to find those posts' last_other_at: at
-- 100x the seed campaign one ambassador's post_state took 1.0-1.4 s, now
-- 0.8-0.9 s, and ambassador_posts 1.0-1.1 s, now 0.5-0.7 s.
CREATE OR REPLACE VIEW post_state AS
SELECT
    r.platform                                                        AS platform,
    r.ambassador_id                                                   AS ambassador_id,
    r.account_id                                                      AS account_id,
    r.post_id                                                         AS post_id,
    r.current_state                                                   AS state,
    multiIf(r.last_other_at = toDateTime64(0, 3, 'UTC'), r.first_observed_at,
            r.first_current_at > r.last_other_at,        r.first_current_at,
            arrayMin(arrayFilter(t -> t > r.last_other_at, o.times))) AS since,
    r.newest_observed_at                                              AS observed_at
FROM post_state_runs AS r
LEFT JOIN
(
    SELECT platform, post_id, groupArray(observed_at) AS times
    FROM post_observations
    WHERE (platform, post_id) IN (SELECT platform, post_id FROM post_state_changes)
    GROUP BY platform, post_id
) AS o ON o.platform = r.platform AND o.post_id = r.post_id;

CREATE OR REPLACE VIEW freshness AS
SELECT
    platform,
    ambassador_id,
    account_id,
    CAST(max(last_observed) AS DateTime64(3, 'UTC'))                     AS last_observed_at,
    dateDiff('second', max(last_observed), any(as_of))                   AS age_seconds,
    count()                                                              AS posts,
    countIf(state = 'live' AND last_observed < as_of - INTERVAL 26 HOUR) AS stale_posts
FROM
(
    -- Each post's newest snapshot (its state and account), without the
    -- since-when of post_state: one pass over snapshots.
    SELECT
        platform,
        post_id,
        toString(argMax(ambassador_id, observed_at))    AS ambassador_id,
        argMax(account_id, observed_at)                 AS account_id,
        argMax(state, observed_at)                      AS state,
        max(observed_at)                                AS last_observed,
        any(greatest(now64(3, 'UTC'), ifNull((SELECT max(last_observed_at) FROM post_hourly), now64(3, 'UTC')))) AS as_of
    FROM snapshots
    GROUP BY platform, post_id
)
GROUP BY platform, ambassador_id, account_id;

CREATE OR REPLACE VIEW amplifications AS
WITH
    reposts AS
    (
        SELECT
            platform,
            post_id                                   AS repost_id,
            argMax(official_id, observed_at)          AS official_id,
            argMax(account_id, observed_at)           AS official_account_id,
            argMax(reposted_at, observed_at)          AS reposted_at,
            argMax(repost_of_platform, observed_at)   AS orig_platform,
            argMax(repost_of_post_id, observed_at)    AS orig_post_id,
            argMax(state, observed_at)                AS repost_state
        FROM official_reposts
        GROUP BY platform, post_id
    ),
    judged_raw AS
    (
        SELECT
            r.platform                                                       AS platform,
            r.repost_id                                                      AS repost_id,
            any(e.ambassador_id)                                             AS j_ambassador_id,
            any(e.metric)                                                    AS metric,
            countIf(e.observed_at <= r.reposted_at)                          AS n_before,
            countIf(e.observed_at > r.reposted_at AND e.observed_at <= r.reposted_at + INTERVAL 24 HOUR) AS n_after,
            maxIf(e.observed_at, e.observed_at <= r.reposted_at)             AS start_at,
            maxIf(e.observed_at, e.observed_at > r.reposted_at AND e.observed_at <= r.reposted_at + INTERVAL 24 HOUR) AS end_at,
            argMaxIf(e.expected, e.observed_at, e.observed_at <= r.reposted_at) AS expected_at_repost_raw,
            argMaxIf(e.expected, e.observed_at, e.observed_at > r.reposted_at AND e.observed_at <= r.reposted_at + INTERVAL 24 HOUR) AS expected_at_end,
            argMaxIf(e.reach_factor, e.observed_at, e.observed_at <= r.reposted_at) AS start_reach,
            argMaxIf(e.reach_factor, e.observed_at, e.observed_at > r.reposted_at AND e.observed_at <= r.reposted_at + INTERVAL 24 HOUR) AS end_reach,
            argMaxIf(e.baseline, e.observed_at, e.observed_at <= r.reposted_at) AS start_baseline,
            argMaxIf(e.baseline, e.observed_at, e.observed_at > r.reposted_at AND e.observed_at <= r.reposted_at + INTERVAL 24 HOUR) AS end_baseline
        FROM reposts AS r
        INNER JOIN post_expected AS e ON e.platform = r.orig_platform AND e.post_id = r.orig_post_id
        GROUP BY r.platform, r.repost_id
    ),
    judged AS
    (
        SELECT *,
            -- Both ends on one curve: the same baseline, and the start's
            -- expectation at the end's reach factor (the campaign
            -- baseline's scale moves as the ambassador's posts come in;
            -- the own baseline's is 1).
            n_before > 0 AND n_after > 0 AND start_baseline = end_baseline AND start_reach > 0 AS measurable,
            expected_at_repost_raw * if(start_reach > 0, end_reach / start_reach, 1) AS expected_at_repost
        FROM judged_raw
    ),
    counted AS
    (
        SELECT
            j.platform                                                         AS platform,
            j.repost_id                                                        AS repost_id,
            anyIf(if(j.metric = 'likes', s.likes, s.plays), s.observed_at = j.start_at) AS count_at_repost,
            anyIf(if(j.metric = 'likes', s.likes, s.plays), s.observed_at = j.end_at)   AS count_at_end
        FROM judged AS j
        INNER JOIN reposts AS r ON r.platform = j.platform AND r.repost_id = j.repost_id
        INNER JOIN snapshots AS s ON s.platform = r.orig_platform AND s.post_id = r.orig_post_id
        WHERE j.measurable AND s.observed_at IN (j.start_at, j.end_at)
        GROUP BY j.platform, j.repost_id
    ),
    posts_seen AS
    (
        SELECT platform, post_id, toString(argMax(ambassador_id, observed_at)) AS ambassador_id, max(observed_at) AS last_observed_at
        FROM snapshots
        WHERE (platform, post_id) IN (SELECT repost_of_platform, repost_of_post_id FROM official_reposts)
        GROUP BY platform, post_id
    )
SELECT
    r.official_id                                                   AS official_id,
    if(o.name != '', o.name, toString(r.official_id))               AS official_name,
    r.platform                                                      AS platform,
    r.repost_id                                                     AS repost_id,
    r.official_account_id                                           AS official_account_id,
    r.reposted_at                                                   AS reposted_at,
    r.repost_state                                                  AS repost_state,
    r.orig_post_id                                                  AS post_id,
    p.ambassador_id                                                 AS ambassador_id,
    if(j.n_before > 0, toString(j.metric), NULL)                    AS metric,
    if(j.n_before > 0 AND j.n_after > 0, if(j.start_baseline = j.end_baseline, toString(j.start_baseline), 'mixed'), NULL) AS baseline,
    if(j.measurable, j.start_at, NULL)                              AS start_at,
    if(j.measurable, j.end_at, NULL)                                AS end_at,
    if(j.measurable, dateDiff('second', j.start_at, j.end_at) / 3600, NULL) AS hours_measured,
    c.count_at_repost                                               AS count_at_repost,
    c.count_at_end                                                  AS count_at_end,
    toInt64(c.count_at_end - c.count_at_repost)                     AS growth_after,
    if(j.measurable, j.expected_at_repost, NULL)                    AS expected_at_repost,
    if(j.measurable, j.expected_at_end, NULL)                       AS expected_at_end,
    if(j.measurable, j.expected_at_end - j.expected_at_repost, NULL) AS expected_growth,
    toInt64(c.count_at_end - c.count_at_repost) - if(j.measurable, j.expected_at_end - j.expected_at_repost, NULL) AS reach_added,
    toUInt8(p.last_observed_at >= r.reposted_at + INTERVAL 24 HOUR) AS window_complete
FROM reposts AS r
INNER JOIN posts_seen AS p ON p.platform = r.orig_platform AND p.post_id = r.orig_post_id
LEFT JOIN judged AS j ON j.platform = r.platform AND j.repost_id = r.repost_id
LEFT JOIN counted AS c ON c.platform = r.platform AND c.repost_id = r.repost_id
LEFT JOIN
(
    SELECT official_id, platform, argMax(name, updated_at) AS name
    FROM official_accounts
    GROUP BY official_id, platform
) AS o ON o.official_id = r.official_id AND o.platform = r.platform;
