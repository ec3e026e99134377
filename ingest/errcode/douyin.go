package errcode

import (
	"net/http"

	"github.com/tongxin/tongxin/ingest"
)

// Sources of the Douyin table, named in each row's comment:
//
//	[new]   状态码排查工具 / 通用状态码(新), developer.open-douyin.com/docs/resource/zh-cn/dop/develop/openapi/status-code
//	[old]   the same page, 通用状态码(旧)
//	[old*]  通用状态码(旧) rows the search found no text for (the page's
//	        excerpt stopped at 2190001); meanings as the adapter had them
//	        from the earlier OpenAPI-status_code page, not re-verified
//	[rt]    刷新 access_token, …/openapi/account-permission/refresh-access-token
//	[gt]    获取授权令牌, …/sdk/mobile-app/permission/get-permission-token
//	[oauth] the OAuth endpoints' error tables (获取/刷新 access_token,
//	        刷新 refresh_token), as the adapter had them, not re-verified
//	[fx]    an endpoint's own table on the apifox mirror of the docs
//	        (douyin.apifox.cn/api-129363793)
//	[task]  核销投稿任务, …/openapi/interaction-management/posting-task/verify-posting-task
//
// Every code comes with HTTP 200 (the per-endpoint tables say so); only
// gateways answer 429 and 5xx, which the adapter reads before the envelope.
//
// Kinds: the docs' advice decides. "请求重试" → unavailable; "控制访问频率"
// → rate_limited (the whole app waits); "联系平台处理" about the app or a
// capability → withdrawn; "该用户为注销/封禁/私密用户" → account_blocked;
// a token the ambassador must grant again → unauthorized.
var douyinRows = []Code{
	// the platform asks the app to slow down: the whole platform waits
	{2100004, ingest.KindRateLimited, http.StatusOK, "系统繁忙，此时请开发者稍候再试", false},     // [old] 请求重试; the adapter has always paused on it
	{28001052, ingest.KindRateLimited, http.StatusOK, "获取平台能力存在异常风险，请稍后再试", false}, // [new] risk control: 控制访问频率
	{28003018, ingest.KindRateLimited, http.StatusOK, "请求频率过高", false},             // [new] 控制接口请求频率
	{2118110, ingest.KindRateLimited, http.StatusOK, "请求过于频繁", false},              // [task] 请求QPS不要超过100

	// the scope's daily quota is used up: wait for the reset
	{2190001, ingest.KindQuotaExhausted, http.StatusOK, "quota 已用完", false},  // [old]
	{28003017, ingest.KindQuotaExhausted, http.StatusOK, "quota 已用完", false}, // [new]

	// platform trouble: retry with backoff
	{28001005, ingest.KindUnavailable, http.StatusOK, "系统繁忙，此时请开发者稍候再试", false}, // [new] 请求重试 (other pages: 系统内部错误，请重试)
	{28001006, ingest.KindUnavailable, http.StatusOK, "网络调用错误，请重试", false},      // [new] 请求重试
	{10001, ingest.KindUnavailable, http.StatusOK, "系统异常", true},                // [oauth]

	// the access token expired: refresh it and repeat the request
	{28001008, ingest.KindTokenExpired, http.StatusOK, "access_token过期，请刷新或重新授权", false}, // [new]
	{2190008, ingest.KindTokenExpired, http.StatusOK, "access_token过期，请刷新或重新授权", false},  // [old*] [gt] error_code=10008 2190008
	{10008, ingest.KindTokenExpired, http.StatusOK, "access_token 无效或过期", true},          // [gt]

	// the ambassador must authorize (again) or grant a missing scope
	{28001003, ingest.KindUnauthorized, http.StatusOK, "access_token无效", false},                // [fx] accesstoken错误
	{2190002, ingest.KindUnauthorized, http.StatusOK, "access_token无效", false},                 // [old*]
	{28001012, ingest.KindUnauthorized, http.StatusOK, "用户未授权该OpenAPI", false},                 // [new] scope not granted
	{2190003, ingest.KindUnauthorized, http.StatusOK, "用户未授权该api", false},                      // [old*] scope not granted
	{28001015, ingest.KindUnauthorized, http.StatusOK, "请求参数 access_token 和 openId不匹配", false}, // [new] the token is another user's
	{2190015, ingest.KindUnauthorized, http.StatusOK, "请求参数access_token openid不匹配", false},     // [old*]
	{28001042, ingest.KindUnauthorized, http.StatusOK, "isv_token无此scope权限", false},            // [new] a token without the scope; tongxin uses none, safest: ask again
	{10004, ingest.KindUnauthorized, http.StatusOK, "应用权限不足，请申请对应的 scope 权限", true},            // [oauth]
	{10007, ingest.KindUnauthorized, http.StatusOK, "授权码过期", true},                             // [oauth] the consent must be given again
	{10010, ingest.KindUnauthorized, http.StatusOK, "refresh_token 过期", true},                  // [rt] 需要重新引导用户授权
	{10020, ingest.KindUnauthorized, http.StatusOK, "超过刷新次数限制", true},                          // [oauth] renew_refresh_token used up

	// the account cannot be read any more: parked, a person is told
	{28001045, ingest.KindAccountBlocked, http.StatusOK, "用户已注销，因此无法授权或调用该Scope", false},   // [new] deregistered
	{28001046, ingest.KindAccountBlocked, http.StatusOK, "用户已被封禁，因此无法授权或调用该Scope", false},  // [new] banned
	{28001047, ingest.KindAccountBlocked, http.StatusOK, "用户为私密用户，因此无法授权或调用该Scope", false}, // [new] private account
	{2100009, ingest.KindAccountBlocked, http.StatusOK, "用户被禁封使用该操作", false},               // [old] 用户异常，数据不支持查询
	{28001020, ingest.KindAccountBlocked, http.StatusOK, "用户未绑定该测试应用", false},              // [new] a test app: the account must be bound as a tester

	// the app may no longer do this at all: the platform pauses, a person is told
	{28001056, ingest.KindWithdrawn, http.StatusOK, "该能力API已下线，不再支持调用", false}, // [new] 该能力被下线，联系平台处理
	{28001019, ingest.KindWithdrawn, http.StatusOK, "当前能力已被封禁或下线", false},      // [new] 该能力被封禁，联系平台处理
	{28001016, ingest.KindWithdrawn, http.StatusOK, "当前应用已被封禁或下线", false},      // [new] 应用不可用，联系平台处理
	{2190016, ingest.KindWithdrawn, http.StatusOK, "当前应用已被封禁或下线", false},       // [old*]
	{28001018, ingest.KindWithdrawn, http.StatusOK, "应用未获得该能力", false},         // [new] [fx] 前往控制台开通能力
	{2190004, ingest.KindWithdrawn, http.StatusOK, "应用未获得该能力", false},          // [old*]
	{28001014, ingest.KindWithdrawn, http.StatusOK, "应用未授权任何能力", false},        // [new]
	{2100007, ingest.KindWithdrawn, http.StatusOK, "无权限操作", false},             // [old] 权限不足，联系平台处理
	{28001021, ingest.KindWithdrawn, http.StatusOK, "测试应用已过期", false},          // [new] the test app must become a production app
	{28001017, ingest.KindWithdrawn, http.StatusOK, "未知URI", false},            // [new] 能力内部异常，联系平台处理: unclear whether our path or the API is wrong; safest: stop and tell a person

	// the post is not public (private or deleted): the post, not the account
	{2118100, ingest.KindNotFound, http.StatusOK, "作品非公开", false}, // [task]

	// our request or configuration is wrong
	{28001007, ingest.KindInvalid, http.StatusOK, "参数不合法", false},                      // [new]
	{2100005, ingest.KindInvalid, http.StatusOK, "参数不合法", false},                       // [old]
	{28004020, ingest.KindInvalid, http.StatusOK, "本次授权中存在授权该授权场景不支持的 scope", false},   // [new] our consent asks a wrong scope
	{10002, ingest.KindInvalid, http.StatusOK, "参数错误", true},                           // [oauth]
	{10003, ingest.KindInvalid, http.StatusOK, "client_key 错误", true},                  // [oauth]
	{10005, ingest.KindInvalid, http.StatusOK, "缺少参数", true},                           // [oauth] [rt]
	{10006, ingest.KindInvalid, http.StatusOK, "非法重定向 URI", true},                      // [oauth]
	{10013, ingest.KindInvalid, http.StatusOK, "client_key 或者 client_secret 报错", true}, // [oauth]
	{10014, ingest.KindInvalid, http.StatusOK, "client_key 不匹配", true},                 // [oauth]
	{10015, ingest.KindInvalid, http.StatusOK, "应用类型错误", true},                         // [oauth]
}

// Douyin is the Douyin Open Platform's table.
var Douyin = newTable(douyinRows)
