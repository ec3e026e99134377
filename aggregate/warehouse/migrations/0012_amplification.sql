-- Amplification (issue 11): when one of the district's official accounts
-- (the roster's officials: 西山发布 …) reposts an ambassador's post, the
-- reach the repost added. Only Weibo shows a repost and what it reposted
-- (user_timeline's retweeted_status); see the README's "Amplification".

-- The roster's official accounts, refreshed with the ambassadors
-- (warehouse.SyncAmbassadors); the newest row of an (official, platform)
-- wins.
CREATE TABLE IF NOT EXISTS official_accounts
(
    official_id  String,
    name         String,
    platform     LowCardinality(String),
    account_id   String,
    updated_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (official_id, platform);

-- Every observation of an official account's repost: the snapshots that
-- carry repost_of, written by the aggregator instead of snapshots and the
-- rollups (a repost is no ambassador's post). post_id is the repost's own
-- status, reposted_at its created_at, repost_of_* the ambassador's post;
-- likes, comments, shares are the repost's own counters (NULL when the
-- platform gave none). The newest observation wins at merge time; readers
-- take argMax(…, observed_at), exact with or without merges.
CREATE TABLE IF NOT EXISTS official_reposts
(
    platform            LowCardinality(String),
    post_id             String,
    official_id         LowCardinality(String),
    account_id          String,
    reposted_at         DateTime64(3, 'UTC'),
    repost_of_platform  LowCardinality(String),
    repost_of_post_id   String,
    state               LowCardinality(String),
    likes               Nullable(Int64),
    comments            Nullable(Int64),
    shares              Nullable(Int64),
    text                String,
    url                 String,
    observed_at         DateTime64(3, 'UTC'),
    ingested_at         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(observed_at)
ORDER BY (platform, post_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per official repost of an ambassador's post, measured on the
-- post's reach metric (plays; likes on Weibo, which gives no plays) against
-- the viral rule's own expectation (post_expected: what the alerts
-- expected of the post at its age, from the ambassador's own posts or the
-- campaign's scaled to the ambassador's reach):
--
--   start          the post's last judged observation at or before the
--                  repost (a post_expected row); its counter is
--                  count_at_repost, from snapshots, an integer
--   end            its last judged observation in the 24 hours after the
--                  repost (reposted_at < observed_at ≤ reposted_at + 24 h)
--   growth_after   count_at_end − count_at_repost (Int64, exact)
--   expected_growth expected_at_end − expected_at_repost: what the post's
--                  usual curve gains over the same ages (Float64, a model).
--                  Both ends must lie on one curve: the same baseline, and
--                  expected_at_repost is the start's expectation rescaled
--                  to the end's reach factor (× end reach_factor ÷ start
--                  reach_factor: the campaign baseline's scale moves as
--                  the ambassador's posts come in; the own baseline's is 1)
--   reach_added    growth_after − expected_growth: signed, never clipped —
--                  a repost that came with less than the usual growth
--                  shows a negative number
--
-- Both ends are the same observations for the actual and the expected
-- counter, so the two growths cover exactly the same ages (hours_measured).
-- The measures are NULL when there is no judged observation before the
-- repost (it came in the post's first 30 minutes, or the alerts never
-- judged the post), none in the 24 hours after (the post was older than
-- the alerts' 72-hour horizon, or no data yet), or the alerts changed
-- baselines between the two ends (baseline 'mixed': two curves, no
-- difference to take). Otherwise baseline is 'own' or 'campaign'.
-- window_complete: the post was observed at or after reposted_at + 24 h,
-- so the window is closed; until then the row grows with the data.
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
        SELECT platform, post_id, toString(any(ambassador_id)) AS ambassador_id, max(observed_at) AS last_observed_at
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
