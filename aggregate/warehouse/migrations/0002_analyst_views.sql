-- Views for analysts and dashboards. All are exact: they sum post_hourly's
-- deltas, which is right with or without merges, and need no FINAL.

-- The latest applied counters of every post.
CREATE VIEW IF NOT EXISTS post_latest AS
SELECT
    platform,
    ambassador_id,
    post_id,
    min(published_at)      AS published_at,
    max(last_observed_at)  AS observed_at,
    sum(plays)             AS plays,
    sum(likes)             AS likes,
    sum(comments)          AS comments,
    sum(shares)            AS shares,
    sum(favorites)         AS favorites,
    sum(forwards)          AS forwards,
    sum(downloads)         AS downloads,
    sum(recommends)        AS recommends,
    sum(snapshots)         AS snapshots
FROM post_hourly
GROUP BY platform, ambassador_id, post_id;

-- The campaign by day and platform. active_posts: posts that moved that day.
CREATE VIEW IF NOT EXISTS campaign_daily AS
SELECT
    toDate(hour)           AS day,
    platform,
    sum(plays)             AS plays,
    sum(likes)             AS likes,
    sum(comments)          AS comments,
    sum(shares)            AS shares,
    sum(favorites)         AS favorites,
    uniqExact(post_id)     AS active_posts
FROM post_hourly
GROUP BY day, platform;

-- The campaign's totals per platform.
CREATE VIEW IF NOT EXISTS campaign_totals AS
SELECT
    platform,
    sum(plays)             AS plays,
    sum(likes)             AS likes,
    sum(comments)          AS comments,
    sum(shares)            AS shares,
    sum(favorites)         AS favorites,
    uniqExact(post_id)     AS posts,
    max(last_observed_at)  AS observed_at
FROM post_hourly
GROUP BY platform;

-- Ambassadors ranked by plays over all platforms, with the roster's names.
CREATE VIEW IF NOT EXISTS leaderboard AS
SELECT
    h.ambassador_id        AS ambassador_id,
    any(r.name)            AS name,
    any(r.community)       AS community,
    sum(h.plays)           AS plays,
    sum(h.likes)           AS likes,
    sum(h.comments)        AS comments,
    sum(h.shares)          AS shares,
    uniqExact(h.platform, h.post_id) AS posts
FROM post_hourly AS h
LEFT JOIN
(
    SELECT ambassador_id, argMax(name, updated_at) AS name, argMax(community, updated_at) AS community
    FROM ambassadors
    GROUP BY ambassador_id
) AS r ON r.ambassador_id = h.ambassador_id
GROUP BY h.ambassador_id
ORDER BY plays DESC;
