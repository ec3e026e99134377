-- posts for one post or one ambassador at 100x the seed campaign: 0005's
-- posts joined post_latest FULL OUTER JOIN post_facts_latest, and a filter
-- does not pass a FULL OUTER JOIN, so the 作品 panels (WHERE platform = …
-- AND post_id = …) aggregated every post's counters, facts and state and
-- joined them (2-3 s at 100x) to show one.
--
-- Same columns, types and rows as 0005's form: the posts with counters
-- (post_latest, one row per post and ambassador, as the FULL OUTER JOIN
-- gave) with their facts if any, then the posts known only by their facts
-- (post_facts_latest without a post_latest row: LEFT ANTI JOIN), then each
-- row's state (post_state), as before. With no FULL OUTER JOIN left, a
-- filter on platform and post_id (=, IN a set) reaches every relation
-- through the join keys, down to post_hourly's, snapshots' and post_facts'
-- sorting keys and the projections.
CREATE OR REPLACE VIEW posts AS
SELECT
    lf.platform                                                    AS platform,
    lf.post_id                                                     AS post_id,
    lf.ambassador_id                                               AS ambassador_id,
    if(lf.facts_seen AND lf.account_id != '', lf.account_id, s.account_id) AS account_id,
    lf.title                                                       AS title,
    lf.url                                                         AS url,
    lf.topics                                                      AS topics,
    lf.published_at                                                AS published_at,
    if(s.seen, s.state, 'live')                                    AS state,
    if(s.seen, s.since, NULL)                                      AS state_since,
    CAST(if(lf.counted, if(s.seen, greatest(lf.observed_at, s.observed_at), lf.observed_at), if(s.seen, s.observed_at, NULL))
         AS Nullable(DateTime64(3, 'UTC')))                        AS observed_at,
    lf.plays                                                       AS plays,
    lf.likes                                                       AS likes,
    lf.comments                                                    AS comments,
    lf.shares                                                      AS shares,
    lf.favorites                                                   AS favorites,
    toInt64(ifNull(lf.likes, 0) + ifNull(lf.comments, 0) + ifNull(lf.shares, 0) + ifNull(lf.favorites, 0)) AS engagement
FROM
(
    SELECT
        l.platform                                     AS platform,
        l.post_id                                      AS post_id,
        toString(l.ambassador_id)                      AS ambassador_id,
        f.account_id                                   AS account_id,
        f.title                                        AS title,
        f.url                                          AS url,
        f.topics                                       AS topics,
        f.seen                                         AS facts_seen,
        CAST(l.published_at AS DateTime64(3, 'UTC'))   AS published_at,
        l.observed_at                                  AS observed_at,
        true                                           AS counted,
        l.plays                                        AS plays,
        l.likes                                        AS likes,
        l.comments                                     AS comments,
        l.shares                                       AS shares,
        l.favorites                                    AS favorites
    FROM post_latest AS l
    LEFT JOIN
    (
        SELECT platform, post_id, account_id, title, url, topics, true AS seen
        FROM post_facts_latest
    ) AS f ON f.platform = l.platform AND f.post_id = l.post_id
    UNION ALL
    SELECT
        f.platform, f.post_id, toString(f.ambassador_id), f.account_id, f.title, f.url, f.topics, true,
        CAST(f.published_at AS DateTime64(3, 'UTC')), NULL, false, NULL, NULL, NULL, NULL, NULL
    FROM post_facts_latest AS f
    LEFT ANTI JOIN
    (
        SELECT platform, post_id
        FROM post_latest
    ) AS l ON l.platform = f.platform AND l.post_id = f.post_id
) AS lf
LEFT JOIN
(
    SELECT platform, post_id, account_id, state, since, observed_at, true AS seen
    FROM post_state
) AS s ON s.platform = lf.platform AND s.post_id = lf.post_id;

-- The posts of one ambassador, as `posts WHERE ambassador_id = …` gives
-- them (same columns and rows), for the 代言人 panels. A post's
-- ambassador_id in posts is computed (post_hourly's, or the latest facts'
-- for a post with no counters), so a filter on it reaches post_hourly
-- only; the posts the ambassador has in post_hourly or in any version of
-- post_facts are a superset that reaches every relation by platform and
-- post_id, and the filter on ambassador_id keeps the exact rows.
CREATE OR REPLACE VIEW ambassador_posts AS
SELECT *
FROM posts
WHERE ambassador_id = {ambassador:String}
  AND (platform, post_id) IN
  (
      SELECT platform, post_id FROM post_latest WHERE ambassador_id = {ambassador:String}
      UNION ALL
      SELECT platform, post_id FROM post_facts WHERE ambassador_id = {ambassador:String}
  );
