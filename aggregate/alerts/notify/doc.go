// Package notify delivers alert events (alerts.Event: a post going viral or
// reaching almost nobody, opening, updating or resolving) to where the
// district publicity office and its operators read them: a WeCom
// (企业微信), DingTalk (钉钉) or Feishu/Lark (飞书) group robot, a generic
// signed webhook, or Prometheus Alertmanager.
//
// A Router, built from a YAML-decodable Config, routes each event to the
// receivers that want its kind and state. Router.Notify never blocks the
// aggregator: every receiver has a bounded queue, drained by one goroutine
// that keeps to the robot's rate limit (a token bucket), merges events that
// queued up meanwhile into one digest message, and retries 5xx answers,
// timeouts, network errors and the API's own rate-limit codes with
// exponential backoff and jitter, honouring Retry-After. A full queue
// drops the event, counted in tongxin_alerts_notifications_total
// {outcome="dropped"} and logged, never silently. Router.Run owns every
// goroutine and returns when its context ends.
//
// Messages are in Chinese, for the office: "🔥 爆款预警", "⚠️ 低触达",
// "✅ 已恢复：…", with the rule's reason, the ambassador, platform, post,
// plays (likes for Weibo, as the contract says), the score and how fresh
// the data behind the judgement was.
//
// # Secrets
//
// Robot URLs carry their credential (WeCom's key, DingTalk's access_token,
// Feishu's hook token) and robots may have a signing secret. Both are of
// type Secret, which prints as "<secret>" through fmt, slog, JSON and YAML.
// Errors (*Error) show a receiver's URL with query values, tokens in the
// path and user info replaced by REDACTED, and anything a server echoed
// back is scrubbed of the secrets; the http client's *url.Error, which
// quotes the full URL, is never passed on. Redirects are not followed.
//
// # The robot APIs, and where they are documented
//
// WeCom group robot (群机器人配置说明,
// https://work.weixin.qq.com/api/doc/90000/90136/91770, now at
// developer.work.weixin.qq.com/document/path/99398): POST
// https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY with
// {"msgtype":"markdown","markdown":{"content":…}} (≤ 4096 bytes, <font
// color="info|comment|warning">) or {"msgtype":"text","text":{"content":…}}
// (≤ 2048 bytes); the answer is {"errcode":0,"errmsg":"ok"}. Each robot may
// send at most 20 messages a minute ("每个机器人发送的消息不能超过20条/分钟");
// beyond that errcode 45009 "api freq out of limit" (as reported in
// github.com/WecomTeam/wecom-openclaw-plugin issue 48). The doc warns the
// webhook URL must be kept secret ("一定要保护好机器人的webhook地址").
//
// DingTalk custom robot (自定义机器人接入 and its 安全设置/加签 section,
// https://open.dingtalk.com/document/group/custom-robot-access, mirrored at
// apifox.com/apidoc/docs-site/467052/doc-3550006):
// POST https://oapi.dingtalk.com/robot/send?access_token=…&timestamp=…&sign=…
// where timestamp is in milliseconds (within an hour of DingTalk's clock)
// and sign = urlEncode(base64(HmacSHA256(key = secret, message =
// timestamp + "\n" + secret))), as in the documentation's Java and Python
// samples; markdown is {"msgtype":"markdown","markdown":{"title","text"}}.
// "每个机器人每分钟最多发送20条消息到群里，如果超过20条，会限流10分钟";
// the answer then is errcode 130101 "send too fast, exceed 20 times per
// minute" (github.com/ccfos/nightingale issue 369); a bad signature is
// 310000 "sign not match".
//
// Feishu/Lark custom bot (自定义机器人使用指南,
// https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot, also
// open.larkoffice.com/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN): POST
// https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN with
// {"timestamp":"S","sign":…,"msg_type":"text","content":{"text":…}} or
// {"msg_type":"interactive","card":{header, elements}}; with 签名校验 the
// timestamp is in seconds (within an hour) and sign = base64(HmacSHA256(
// key = timestamp + "\n" + secret, message = empty)) — key and message the
// other way round from DingTalk, a classic mistake. The answer is
// {"code":0,"msg":"success"}; 9499 Bad Request, 19021 sign match fail,
// 19022 Ip Not Allowed, 19024 Key Words Not Found. Rate: 100 requests a
// minute and 5 a second per bot, 11232 when limited; the platform's
// frequency-control guide (server-docs/api-call-guide/frequency-control)
// adds HTTP 429 with code 99991400 and the header x-ogw-ratelimit-reset.
// The body may not exceed 20 KB.
//
// Generic webhook: the Event's JSON plus title/text/markdown renderings,
// signed X-Tongxin-Signature: sha256=<hex HmacSHA256(secret, body)> exactly
// like GitHub's X-Hub-Signature-256 (docs.github.com, "Validating webhook
// deliveries", whose test vector is in this package's tests).
//
// Alertmanager API v2 (https://prometheus.io/docs/alerting/latest/alerts_api/,
// https://prometheus.io/docs/alerting/clients/ and api/v2/openapi.yaml in
// github.com/prometheus/alertmanager): POST {url}/api/v2/alerts with a
// JSON array of postableAlert {labels, annotations, startsAt, endsAt,
// generatorURL}. "Clients are expected to continuously re-send alerts as
// long as they are still active"; an alert without endsAt ends
// resolve_timeout after it was last received, so this package re-sends
// active alerts and sets endsAt itself.
//
// # Defaults
//
// See TypeDefaults: WeCom and DingTalk 19 requests a minute with a bucket
// of one (5% under the documented 20, so a bunched arrival cannot make 21
// in a window; DingTalk punishes that with ten minutes of silence), Feishu
// 95 a minute with a bucket of five, webhook and Alertmanager unlimited.
// Queues hold 256 events, five tries per message with backoff from 1 s to
// 2 min, 10 s per request. Chat robots get open and resolved events only
// (updates would flood a group); webhook and Alertmanager get all three.
package notify
