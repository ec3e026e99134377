// Package wechat brings WeChat Channels (视频号) post counters into tongxin.
//
// WeChat Channels has no open per-post API, so there are two ways in.
//
// # 1. The creator console's export (source "export")
//
// 视频号助手 (channels.weixin.qq.com/platform) → 数据中心 → 视频数据 → 单篇视频 →
// 下载表格 gives one CSV of the account's posts: UTF-8 with a BOM, comma
// separated, one row per video, the header in the first row (some downloads
// carry a note line or two above it; they are skipped). The real columns, in
// the console's order:
//
//	视频描述,视频ID,发布时间,完播率,平均播放时长,播放量,推荐,喜欢,评论量,分享量,
//	关注量,转发聊天和朋友圈,设为铃声,设为状态,设为朋友圈封面,
//	企微链接点击次数,企微链接点击人数,添加到通讯录次数,添加到通讯录人数
//
// with values like "export/UzFfAgtgekIEAQAAAAAA…" (视频ID), "2026/06/25"
// (发布时间: the console writes the China date only), "4.41%" (完播率),
// "14.73秒" (平均播放时长), plain integers for the counters, and blanks in the
// four 企微…/添加到通讯录… columns of a video without a WeCom link. There is
// no public documentation of this file; the columns and formats are those
// of real downloads as several independent tools that read them record
// them (and agree), so a change on the console's side is possible — which
// is why columns are matched by name and a time of day, when a re-saved
// table has one, is read too. An XLSX (the same table
// saved from Excel, where the percentages and dates usually become numeric
// cells) is read too, with the standard library only: the first sheet,
// shared strings, inline strings and the percent/date number formats.
//
// Mapping (a metric the export does not give is nil, never zero):
//
//	播放量            → plays
//	喜欢              → likes        (the 👍 counter)
//	评论量            → comments
//	分享量            → shares
//	收藏              → —  favorites is nil: Channels has no favorites counter
//	转发聊天和朋友圈  → forwards     (forwards to chats + to Moments)
//	推荐              → recommends   (the ♡ "推荐给朋友" counter)
//	完播率            → completion_rate, "4.41%" → 0.0441 (the console rounds
//	                    to 0.01 percentage points)
//	平均播放时长      → avg_watch_seconds, "14.73秒" → 14.73
//	downloads         → nil (not given)
//	视频描述          → the post's title
//	关注量 (follows gained), 设为铃声/设为状态/设为朋友圈封面, 企微链接点击次数/人数,
//	添加到通讯录次数/人数 → ignored: no snapshot metric holds them
//
// A cell with "-", "--" or nothing is an absent metric (nil). Counters may be
// written "1,234", "1.2万", "3.4w", "1.1亿" or "10万+" (an abbreviated number
// is kept at the precision it was written with).
//
// Columns are matched by header name, not position; each field knows a few
// aliases (视频标题 for 视频描述, 播放次数 for 播放量, 平均观看时长 for
// 平均播放时长, a trailing unit such as "(次)" or "(%)" is ignored …). An
// unknown column is ignored. "点赞" is deliberately not an alias: the console's
// web table calls the ♡ counter 点赞 while the export calls it 推荐, so it is
// ambiguous. A missing 视频ID or 发布时间 column is an error naming the file and
// the column. A row that cannot be read is an error naming the file, the line
// (CSV) or row and cell (XLSX) and the column, and the rest of the file still
// goes through.
//
// Whose export: an export file holds one account's posts, and the file does
// not say which. It is taken, in this order, from
//   - an explicit ambassador (ImportOptions.Ambassador, `tongxin import --ambassador`),
//   - the file's folder: a drop folder with one subfolder per ambassador,
//     named by ambassador id or WeChat Channels finder id (drop/amb07/…csv),
//   - the file name's prefix: the ambassador id or finder id followed by
//     "_", "-", "." or a space (amb07_视频号_20260510_143000.csv).
//
// A folder and a file name that name different ambassadors are an error.
// FileName gives the name tools should save exports under.
//
// Bounds: every row must pass the snapshot rules (snapshot.ValidateAt, on
// the wall clock), else it is a RowError; an export time before WeChat
// Channels existed or later than now plus snapshot.FutureMargin (a file
// named 20990510_…) refuses the whole file, and the Watcher reads the same
// content again once the file is renamed.
//
// Bounds: an export comes from outside, so what one may make the importer
// hold is bounded the same way on every path (Parse, ReadFile, ImportFiles,
// the Watcher): at most MaxExportSize bytes of file; for an XLSX at most
// MaxXLSXUncompressed bytes inflated (as its zip entries declare, and as
// actually read), at most a thousand zip entries, 1 MB for the workbook,
// relationship and style parts, 64 KB for one XML tag and 512 KB for one
// run of text; at most MaxExportColumns columns (a CSV record's fields, or
// the column of an XLSX cell holding a value — formatting-only cells are
// ignored wherever they are), MaxExportRows rows, MaxExportCells non-empty
// cells and MaxCellBytes bytes in one cell. Rows are kept sparse (only
// cells holding something; after the header only the columns read), so a
// cell far to the right costs nothing. A file over a bound is refused as a
// whole with a *LimitError naming the file, the bound and where (line and
// column, row and cell, or the part); the other files go on, and the
// Watcher gives up on such a file at once and remembers it until it changes.
//
// When: observed_at of every row is the export's time, taken from the file
// name when it holds a date and a time (20260510_143000, 20260510-1430,
// 2026-05-10T14:30:00; read as China time, UTC+8, like the console), else the
// file's modification time. published_at is 发布时间 read as China time;
// the console's date-only 发布时间 is 00:00 China time of that day.
//
// ImportFiles reads files and folders once (`tongxin import`); a Watcher polls
// a drop folder, picks up new or changed files once they have stopped
// changing (size and modification time steady for Settle; a file that ends
// inside a row or is not yet a readable XLSX is given Grace more), skips
// browser partial downloads (.crdownload …) and Excel lock files, hands each
// export to a callback, and remembers what it read — by path, size and
// modification time, and by content hash — in a state file inside the
// folder, so a restart, a touched file or a copy does not import twice. A
// file that stays unreadable is reported once and remembered as failed until
// its content changes. The Watcher also tells which posts an account's newer
// export lacks (Export.Missing: deleted or hidden).
//
// # 2. A data vendor's JSON feed (source "api")
//
// Third-party vendors that hold console access for an account can serve its
// posts through this documented JSON shape (every request carries the key in
// the X-Api-Key header; the key is never logged or put in an error):
//
//	GET  {feed}/wechat_channels/v1/accounts/{finder_id}/posts?cursor=…&limit=20
//	  → 200 {"posts":[POST…],"next_cursor":"…","has_more":true,"request_id":"…"}
//	POST {feed}/wechat_channels/v1/stats   {"finder_id":"…","export_ids":["export/…",…]}  (≤ 50 ids)
//	  → 200 {"stats":[POST…],"missing":["export/…"],"request_id":"…"}
//	POST = {"export_id","finder_id","description","published_at" (RFC 3339),
//	        "stats":{"play","like","comment","share","forward","recommend",
//	                 "completion_rate" (0..1 or null),"avg_play_seconds" (or null)}}
//
// Counters may be JSON numbers or numeric strings; completion_rate and
// avg_play_seconds are null while a post has no plays. Newest posts come
// first; the cursor is opaque. Every asked export id is answered, either in
// "stats" or in "missing" (the account no longer shows it: deleted or
// hidden; tongxin reports it as a snapshot with state "deleted" and no
// counters); an answer that leaves one out is malformed, not a deletion. Errors are {"error":{"code","message","request_id"}} with the HTTP
// status: 400 invalid_request/invalid_cursor/too_many_ids (KindInvalid), 401
// missing_api_key/invalid_api_key and 403 account_not_authorized
// (KindUnauthorized), 401 session_expired — the vendor's console session for
// the account lapsed and is being renewed, retry after Retry-After
// (KindTokenExpired), 404 account_not_found (KindNotFound), 429 rate_limited
// with Retry-After (KindRateLimited), 429 quota_exhausted (KindQuotaExhausted),
// 5xx (KindUnavailable). A post whose values break the snapshot rules
// (counters negative or absurd, completion_rate outside 0..1, a bad
// published_at or id) is left out alone, in Listing.Rejected /
// Fetched.Rejected. A body that is not this shape is KindMalformed with
// the request id (X-Request-Id header or body) when there is one.
//
// The feed's mapping is the export's: play→plays, like→likes,
// comment→comments, share→shares, forward→forwards, recommend→recommends,
// completion_rate→completion_rate, avg_play_seconds→avg_watch_seconds;
// favorites and downloads are nil.
package wechat
