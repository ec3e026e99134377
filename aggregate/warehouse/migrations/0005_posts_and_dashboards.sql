-- What the dashboards and reports read (issue 10): post facts (titles,
-- links, topics), Beijing days, period leaderboards, topic targets,
-- freshness. Every counter is still summed from post_hourly's deltas:
-- exact with or without merges, no FINAL. Every `day` is a Beijing day
-- (Asia/Shanghai, UTC+8 without DST): post_hourly's hours are whole UTC
-- hours, so they cut Beijing days exactly.
--
-- "moved" (the posts columns): the post's counters changed in that hour,
-- day or period — some delta is not zero. A poll that saw the same
-- counters again does not make a post count as moved.
--
-- as_of (ages, days since): the later of the wall clock and the newest
-- observation in the warehouse. For a real campaign that is now(); for a
-- simulated one run faster than the wall clock (--speed), whose campaign
-- clock is ahead of now(), it is the campaign's present.

-- A post's facts as ingest last saw them: title, link, topics. A snapshot
-- carries them (its "facts" object) when ingest first sees the post or the
-- facts change; updated_at is that snapshot's observed_at, so the latest
-- facts win whatever order they arrive in. topics are normalised
-- (snapshot.Topics): width- and case-folded, deduplicated, in order.
CREATE TABLE IF NOT EXISTS post_facts
(
    platform          LowCardinality(String),
    post_id           String,
    ambassador_id     LowCardinality(String),
    account_id        String,
    title             String,
    url               String,
    topics            Array(String),
    published_at      DateTime64(3, 'UTC'),
    updated_at        DateTime64(3, 'UTC'),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (platform, post_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- The campaign's targets, e.g. the seed campaign's Douyin topic 寻美西山 at
-- 1230万 plays. Written from config (--targets) by `tongxin migrate` and
-- the aggregator; the newest row (updated_at) of a (topic, platform,
-- metric) wins, and a target taken out of the config gets a row with
-- active = 0. topic is normalised as post_facts.topics; metric is 'plays'
-- or 'engagement'.
CREATE TABLE IF NOT EXISTS campaign_targets
(
    topic             String,
    platform          LowCardinality(String),
    metric            LowCardinality(String),
    target            UInt64,
    active            UInt8 DEFAULT 1,
    updated_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (topic, platform, metric);

-- post_state gains account_id, and no longer sorts every post's whole
-- history in memory (0004's groupArray, which a season of snapshots at
-- 100x the campaign would not fit): post_state_runs reads each post's
-- current state, newest snapshot and the last snapshot in another state in
-- one pass; only posts that ever changed state are read again, for the
-- first snapshot after that. Same columns and meaning as 0004 (states are
-- live, private, deleted: snapshot.Validate admits no other).
CREATE OR REPLACE VIEW post_state_runs AS
SELECT
    platform,
    post_id,
    any(ambassador_id)                          AS ambassador_id,
    argMax(account_id, observed_at)             AS account_id,
    argMax(state, observed_at)                  AS current_state,
    min(observed_at)                            AS first_observed_at,
    max(observed_at)                            AS newest_observed_at,
    multiIf(current_state = 'live',    maxIf(observed_at, state != 'live'),
            current_state = 'private', maxIf(observed_at, state != 'private'),
                                       maxIf(observed_at, state != 'deleted')) AS last_other_at
FROM snapshots
GROUP BY platform, post_id;

CREATE OR REPLACE VIEW post_state AS
SELECT
    r.platform                                                        AS platform,
    r.ambassador_id                                                   AS ambassador_id,
    r.account_id                                                      AS account_id,
    r.post_id                                                         AS post_id,
    r.current_state                                                   AS state,
    if(r.last_other_at = toDateTime64(0, 3, 'UTC'), r.first_observed_at, c.since) AS since,
    r.newest_observed_at                                              AS observed_at
FROM post_state_runs AS r
LEFT JOIN
(
    SELECT s.platform AS platform, s.post_id AS post_id, min(s.observed_at) AS since
    FROM snapshots AS s
    INNER JOIN
    (
        SELECT platform, post_id, last_other_at
        FROM post_state_runs
        WHERE last_other_at != toDateTime64(0, 3, 'UTC')
    ) AS m ON m.platform = s.platform AND m.post_id = s.post_id
    WHERE s.observed_at > m.last_other_at
    GROUP BY s.platform, s.post_id
) AS c ON c.platform = r.platform AND c.post_id = r.post_id;

-- Each post's latest facts (post_facts without FINAL).
CREATE OR REPLACE VIEW post_facts_latest AS
SELECT
    platform,
    post_id,
    argMax(ambassador_id, updated_at)  AS ambassador_id,
    argMax(account_id, updated_at)     AS account_id,
    argMax(title, updated_at)          AS title,
    argMax(url, updated_at)            AS url,
    argMax(topics, updated_at)         AS topics,
    argMax(published_at, updated_at)   AS published_at,
    max(updated_at)                    AS facts_updated_at
FROM post_facts
GROUP BY platform, post_id;

-- The roster's latest name and community of each ambassador.
CREATE OR REPLACE VIEW ambassador_roster AS
SELECT
    ambassador_id,
    argMax(name, updated_at)       AS name,
    argMax(community, updated_at)  AS community
FROM ambassadors
GROUP BY ambassador_id;

-- Beijing days; engagement (互动量) = likes + comments + shares + favorites,
-- a metric the platform does not give counting 0.
CREATE OR REPLACE VIEW ambassador_daily AS
SELECT
    toDate(hour, 'Asia/Shanghai')  AS day,
    platform,
    ambassador_id,
    sum(plays)             AS plays,
    sum(likes)             AS likes,
    sum(comments)          AS comments,
    sum(shares)            AS shares,
    sum(favorites)         AS favorites,
    toInt64(ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0)) AS engagement,
    uniqExact(post_id)     AS posts
FROM post_hourly
GROUP BY day, platform, ambassador_id;

CREATE OR REPLACE VIEW campaign_daily AS
SELECT
    toDate(hour, 'Asia/Shanghai')  AS day,
    platform,
    sum(plays)             AS plays,
    sum(likes)             AS likes,
    sum(comments)          AS comments,
    sum(shares)            AS shares,
    sum(favorites)         AS favorites,
    toInt64(ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0)) AS engagement,
    uniqExact(post_id)     AS active_posts
FROM post_hourly
GROUP BY day, platform;

-- The campaign by UTC hour and platform; active_posts: posts that moved.
CREATE OR REPLACE VIEW campaign_hourly AS
SELECT
    hour,
    platform,
    sum(plays)             AS plays,
    sum(likes)             AS likes,
    sum(comments)          AS comments,
    sum(shares)            AS shares,
    sum(favorites)         AS favorites,
    toInt64(ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0)) AS engagement,
    uniqExactIf(h.post_id, ifNull(h.plays, 0) != 0 OR ifNull(h.likes, 0) != 0 OR ifNull(h.comments, 0) != 0 OR ifNull(h.shares, 0) != 0 OR ifNull(h.favorites, 0) != 0) AS active_posts
FROM post_hourly AS h
GROUP BY hour, platform;

-- One row per post ever seen in post_hourly or post_facts, with its latest
-- facts, state and counters. A post whose facts have not arrived has an
-- empty title, url and topics; one never observed has NULL counters and
-- state 'live'. state_since: when the post entered its current state (the
-- first snapshot of the latest run of that state), NULL if never observed.
CREATE OR REPLACE VIEW posts AS
SELECT
    platform,
    post_id,
    if(l.seen, toString(l.ambassador_id), toString(f.ambassador_id)) AS ambassador_id,
    if(f.seen AND f.account_id != '', f.account_id, s.account_id)  AS account_id,
    f.title                                                        AS title,
    f.url                                                          AS url,
    f.topics                                                       AS topics,
    CAST(if(l.seen, l.published_at, f.published_at) AS DateTime64(3, 'UTC')) AS published_at,
    if(s.seen, s.state, 'live')                                    AS state,
    if(s.seen, s.since, NULL)                                      AS state_since,
    CAST(if(l.seen, if(s.seen, greatest(l.observed_at, s.observed_at), l.observed_at), if(s.seen, s.observed_at, NULL))
         AS Nullable(DateTime64(3, 'UTC')))                        AS observed_at,
    l.plays                                                        AS plays,
    l.likes                                                        AS likes,
    l.comments                                                     AS comments,
    l.shares                                                       AS shares,
    l.favorites                                                    AS favorites,
    toInt64(ifNull(l.likes, 0) + ifNull(l.comments, 0) + ifNull(l.shares, 0) + ifNull(l.favorites, 0)) AS engagement
FROM
(
    SELECT platform, post_id, ambassador_id, published_at, observed_at,
           plays, likes, comments, shares, favorites, true AS seen
    FROM post_latest
) AS l
FULL OUTER JOIN
(
    SELECT platform, post_id, ambassador_id, account_id, title, url, topics, published_at, true AS seen
    FROM post_facts_latest
) AS f USING (platform, post_id)
LEFT JOIN
(
    SELECT platform, post_id, account_id, state, since, observed_at, true AS seen
    FROM post_state
) AS s USING (platform, post_id);

-- By Beijing day, platform and topic: the deltas of the posts carrying the
-- topic (post_facts' latest topics); posts: those that moved that day.
-- Weibo's plays are NULL (Weibo gives none).
CREATE OR REPLACE VIEW topic_daily AS
SELECT
    toDate(h.hour, 'Asia/Shanghai')  AS day,
    h.platform                       AS platform,
    t.topic                          AS topic,
    sum(h.plays)                     AS plays,
    toInt64(sum(ifNull(h.likes, 0) + ifNull(h.comments, 0) + ifNull(h.shares, 0) + ifNull(h.favorites, 0))) AS engagement,
    uniqExactIf(h.post_id, ifNull(h.plays, 0) != 0 OR ifNull(h.likes, 0) != 0 OR ifNull(h.comments, 0) != 0 OR ifNull(h.shares, 0) != 0 OR ifNull(h.favorites, 0) != 0) AS posts
FROM post_hourly AS h
INNER JOIN
(
    SELECT platform, post_id, arrayJoin(topics) AS topic
    FROM post_facts_latest
) AS t ON t.platform = h.platform AND t.post_id = h.post_id
GROUP BY day, platform, topic;

-- Each target against the topic's running total on its platform.
-- value: plays or engagement to date; progress = value / target.
CREATE OR REPLACE VIEW topic_progress AS
SELECT
    g.topic                                  AS topic,
    g.platform                               AS platform,
    g.metric                                 AS metric,
    g.target                                 AS target,
    toInt64(if(g.metric = 'plays', ifNull(v.plays, 0), ifNull(v.engagement, 0))) AS value,
    if(g.target = 0, 0., value / g.target)  AS progress
FROM
(
    SELECT topic, platform, metric, argMax(target, updated_at) AS target
    FROM campaign_targets
    GROUP BY topic, platform, metric
    HAVING argMax(active, updated_at) = 1
) AS g
LEFT JOIN
(
    SELECT topic, platform, sum(plays) AS plays, sum(engagement) AS engagement
    FROM topic_daily
    GROUP BY topic, platform
) AS v ON v.topic = g.topic AND v.platform = g.platform;

-- Ambassadors over any period [from, to) of UTC DateTimes, e.g.
--   SELECT * FROM leaderboard_period(from = '2026-05-01 16:00:00', to = '2026-05-08 16:00:00')
-- (a Beijing week). Every ambassador of the roster is listed, also with
-- nothing in the period. posts: posts that moved in the period; new_posts:
-- posts published in it. plays is NULL for an ambassador whose posts in the
-- period give no plays (Weibo only): rank by engagement for all platforms.
CREATE OR REPLACE VIEW leaderboard_period AS
SELECT
    ids.ambassador_id                AS ambassador_id,
    r.name                           AS name,
    r.community                      AS community,
    a.plays                          AS plays,
    toInt64(ifNull(a.engagement, 0)) AS engagement,
    toUInt64(ifNull(a.posts, 0))     AS posts,
    toUInt64(ifNull(n.new_posts, 0)) AS new_posts
FROM
(
    SELECT ambassador_id FROM ambassadors GROUP BY ambassador_id
    UNION DISTINCT
    SELECT toString(ambassador_id) FROM post_hourly WHERE hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')} GROUP BY ambassador_id
) AS ids
LEFT JOIN ambassador_roster AS r ON r.ambassador_id = ids.ambassador_id
LEFT JOIN
(
    SELECT
        toString(ambassador_id) AS ambassador_id,
        sum(plays)              AS plays,
        sum(ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0)) AS engagement,
        uniqExactIf((h.platform, h.post_id), ifNull(h.plays, 0) != 0 OR ifNull(h.likes, 0) != 0 OR ifNull(h.comments, 0) != 0 OR ifNull(h.shares, 0) != 0 OR ifNull(h.favorites, 0) != 0) AS posts
    FROM post_hourly AS h
    WHERE hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')}
    GROUP BY ambassador_id
) AS a ON a.ambassador_id = ids.ambassador_id
LEFT JOIN
(
    SELECT ambassador_id, count() AS new_posts
    FROM
    (
        SELECT toString(ambassador_id) AS ambassador_id, platform, post_id, min(published_at) AS published_at
        FROM post_hourly
        GROUP BY ambassador_id, platform, post_id
    )
    WHERE published_at >= {from:DateTime('UTC')} AND published_at < {to:DateTime('UTC')}
    GROUP BY ambassador_id
) AS n ON n.ambassador_id = ids.ambassador_id;

-- Communities over any period [from, to): leaderboard_period's rows added
-- up by community (an ambassador not in the roster counts under '').
-- ambassadors: the community's ambassadors listed there.
CREATE OR REPLACE VIEW community_leaderboard_period AS
SELECT
    community,
    count()                        AS ambassadors,
    sum(plays)                     AS plays,
    toInt64(sum(engagement))       AS engagement,
    toUInt64(sum(posts))           AS posts,
    toUInt64(sum(new_posts))       AS new_posts
FROM leaderboard_period(from = {from:DateTime('UTC')}, to = {to:DateTime('UTC')})
GROUP BY community;

-- Posts published per Beijing day, platform and ambassador. (From
-- post_latest, which holds every post of `posts` without reading the raw
-- snapshots: a post's facts always come with a snapshot that has a row.)
CREATE OR REPLACE VIEW posts_published_daily AS
SELECT
    toDate(published_at, 'Asia/Shanghai')  AS day,
    platform,
    toString(ambassador_id)                AS ambassador_id,
    count()                                AS posts
FROM post_latest
GROUP BY day, platform, ambassador_id;

-- Every ambassador of the roster (and any other seen posting) with how
-- many posts they have, when they last published, how many Beijing days
-- ago that is (as_of, above), and on which platforms they posted.
CREATE OR REPLACE VIEW ambassador_activity AS
SELECT
    ids.ambassador_id                         AS ambassador_id,
    ifNull(r.name, '')                        AS name,
    ifNull(r.community, '')                   AS community,
    toUInt64(ifNull(p.posts, 0))              AS posts,
    p.last_published_at                       AS last_published_at,
    if(p.last_published_at IS NULL, NULL,
       toInt64(dateDiff('day', toDate(p.last_published_at, 'Asia/Shanghai'),
           toDate(greatest(now64(3, 'UTC'), ifNull((SELECT max(last_observed_at) FROM post_hourly), now64(3, 'UTC'))), 'Asia/Shanghai')))) AS days_since_post,
    ifNull(p.platforms, [])                   AS platforms
FROM
(
    SELECT ambassador_id FROM ambassadors GROUP BY ambassador_id
    UNION DISTINCT
    SELECT toString(ambassador_id) FROM post_latest GROUP BY ambassador_id
) AS ids
LEFT JOIN ambassador_roster AS r ON r.ambassador_id = ids.ambassador_id
LEFT JOIN
(
    SELECT
        toString(ambassador_id)                           AS ambassador_id,
        count()                                           AS posts,
        toNullable(CAST(max(published_at) AS DateTime64(3, 'UTC'))) AS last_published_at,
        arraySort(groupUniqArray(toString(platform)))     AS platforms
    FROM post_latest
    GROUP BY ambassador_id
) AS p ON p.ambassador_id = ids.ambassador_id;

-- The latest state of every alert, with the ambassador's name and the
-- post's title and link. status: 'open' until resolved_at is set.
CREATE OR REPLACE VIEW alerts_current AS
SELECT
    a.alert_id                    AS alert_id,
    a.kind                        AS kind,
    a.platform                    AS platform,
    a.ambassador_id               AS ambassador_id,
    r.name                        AS name,
    r.community                   AS community,
    a.post_id                     AS post_id,
    f.title                       AS title,
    f.url                         AS url,
    a.opened_at                   AS opened_at,
    a.last_updated_at             AS updated_at,
    a.resolved_at                 AS resolved_at,
    if(a.resolved_at IS NULL, 'open', 'resolved') AS status,
    a.reason                      AS reason,
    a.score                       AS score
FROM
(
    SELECT
        alert_id,
        argMax(kind, updated_at)           AS kind,
        argMax(platform, updated_at)       AS platform,
        argMax(ambassador_id, updated_at)  AS ambassador_id,
        argMax(post_id, updated_at)        AS post_id,
        min(opened_at)                     AS opened_at,
        max(updated_at)                    AS last_updated_at,
        argMax(resolved_at, updated_at)    AS resolved_at,
        argMax(reason, updated_at)         AS reason,
        argMax(score, updated_at)          AS score
    FROM alerts
    GROUP BY alert_id
) AS a
LEFT JOIN ambassador_roster AS r ON r.ambassador_id = a.ambassador_id
LEFT JOIN post_facts_latest AS f ON f.platform = a.platform AND f.post_id = a.post_id;

-- Per platform and account: the newest observation, its age in seconds
-- (against as_of, above), the posts, and the live posts not observed for
-- more than 26 hours: the scheduler observes every live post at least
-- once a campaign day (its longest interval), so 24 h plus 2 h for
-- backoffs and the budget. Private and deleted posts are not stale.
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
        toString(any(ambassador_id))                    AS ambassador_id,
        argMax(account_id, observed_at)                 AS account_id,
        argMax(state, observed_at)                      AS state,
        max(observed_at)                                AS last_observed,
        any(greatest(now64(3, 'UTC'), ifNull((SELECT max(last_observed_at) FROM post_hourly), now64(3, 'UTC')))) AS as_of
    FROM snapshots
    GROUP BY platform, post_id
)
GROUP BY platform, ambassador_id, account_id;
