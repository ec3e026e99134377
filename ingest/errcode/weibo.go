package errcode

import (
	"net/http"

	"github.com/tongxin/tongxin/ingest"
)

// Sources of the Weibo table, named in each row's comment:
//
//	[ec]   错误代码说明, open.weibo.com/wiki/Error_code (read through its
//	       copies, e.g. shuzhiduo.com/A/1O5Eyn1W57: 系统级 10xxx, 服务级 2xxxx)
//	[ec0]  the same wiki page's first revision (index.php?title=Error_code&oldid=5237),
//	       where some codes meant other things; used only where the current table has no row
//	[o2]   OAuth2.0 错误码, open.weibo.com/wiki/Oauth2 (copy: wjhsh.net/highriver-p-2260589.html)
//	[ad]   as the adapter had it (its package doc), not found in the pages searched
//
// Weibo's docs give no HTTP status per code. Status is what the simulator
// answers with: 403 for the rate limits (as Weibo's own answers show), 401
// for refused tokens, 500/503 for system errors, 400 otherwise. The
// adapter decides by the code whatever the status, 200 included.
var weiboRows = []Code{
	// rate limits (per IP, per user per app per hour): the whole app waits
	{10022, ingest.KindRateLimited, http.StatusForbidden, "IP requests out of rate limit", false},            // [ec]
	{10023, ingest.KindRateLimited, http.StatusForbidden, "User requests out of rate limit", false},          // [ec]
	{10024, ingest.KindRateLimited, http.StatusForbidden, "User requests for (%s) out of rate limit", false}, // [ec]

	// platform trouble: retry with backoff
	{10001, ingest.KindUnavailable, http.StatusInternalServerError, "System error", false},                          // [ec]
	{10002, ingest.KindUnavailable, http.StatusServiceUnavailable, "Service unavailable", false},                    // [ec]
	{10003, ingest.KindUnavailable, http.StatusInternalServerError, "Remote service error", false},                  // [ec]
	{10009, ingest.KindUnavailable, http.StatusServiceUnavailable, "Too many pending tasks, system is busy", false}, // [ec]
	{10010, ingest.KindUnavailable, http.StatusInternalServerError, "Job expired", false},                           // [ec]
	{10011, ingest.KindUnavailable, http.StatusInternalServerError, "RPC error", false},                             // [ec]
	{21331, ingest.KindUnavailable, http.StatusServiceUnavailable, "temporarily_unavailable", true},                 // [o2] 服务暂时无法访问

	// the token no longer works, or a grant is missing: the ambassador must
	// authorize again (Weibo gives web apps no refresh token)
	{21327, ingest.KindUnauthorized, http.StatusUnauthorized, "expired_token", false},                              // [o2] token过期
	{21332, ingest.KindUnauthorized, http.StatusUnauthorized, "invalid_access_token", false},                       // [ad]
	{21301, ingest.KindUnauthorized, http.StatusUnauthorized, "Auth faild", false},                                 // [ec]
	{21314, ingest.KindUnauthorized, http.StatusUnauthorized, "Token used", false},                                 // [ec]
	{21315, ingest.KindUnauthorized, http.StatusUnauthorized, "Token expired", false},                              // [ec]
	{21316, ingest.KindUnauthorized, http.StatusUnauthorized, "Token revoked", false},                              // [ec]
	{21317, ingest.KindUnauthorized, http.StatusUnauthorized, "Token rejected", false},                             // [ec]
	{21319, ingest.KindUnauthorized, http.StatusUnauthorized, "Accessor was revoked", false},                       // [ec]
	{21335, ingest.KindUnauthorized, http.StatusBadRequest, "request uid's value must be the current user", false}, // [ec] the token is another user's
	{10006, ingest.KindUnauthorized, http.StatusBadRequest, "Source paramter (appkey) is missing", false},          // [ec] what Weibo answers a request without a token (no appkey either): the ambassador's token is missing, so authorize
	{10015, ingest.KindUnauthorized, http.StatusForbidden, "Insufficient user permissions", false},                 // [ec0] 用户权限不足
	{21325, ingest.KindUnauthorized, http.StatusBadRequest, "invalid_grant", true},                                 // [o2] Access Grant无效、过期或已撤销
	{21330, ingest.KindUnauthorized, http.StatusBadRequest, "access_denied", true},                                 // [o2] 用户或授权服务器拒绝授予数据访问权限

	// the account cannot be read any more: parked, a person is told
	{10013, ingest.KindAccountBlocked, http.StatusBadRequest, "Invalid weibo user", false},   // [ec] 不合法的微博用户
	{20003, ingest.KindAccountBlocked, http.StatusBadRequest, "User does not exists", false}, // [ec] 用户不存在

	// the app may no longer do this: the platform pauses, a person is told
	{10020, ingest.KindWithdrawn, http.StatusBadRequest, "Request api not found", false},                           // [ec] the API was withdrawn (or our path is wrong): stop and tell
	{10014, ingest.KindWithdrawn, http.StatusForbidden, "Insufficient app permissions", false},                     // [ec] 应用的接口访问权限受限
	{10005, ingest.KindWithdrawn, http.StatusForbidden, "Permission denied, need a high level appkey", false},      // [ec] 该资源需要appkey拥有授权
	{10004, ingest.KindWithdrawn, http.StatusForbidden, "IP limit", false},                                         // [ec] IP限制不能请求该资源: the app is refused from this IP
	{21321, ingest.KindWithdrawn, http.StatusForbidden, "Applications over the unaudited use restrictions", false}, // [ec] an unreviewed app over its user limit
	{21326, ingest.KindWithdrawn, http.StatusBadRequest, "unauthorized_client", true},                              // [o2] 客户端没有权限
	{21337, ingest.KindWithdrawn, http.StatusForbidden, "appkey permission denied", false},                         // [ad] meaning not in the pages searched; the adapter read it as the app's permission: safest, stop and tell

	// the status is gone (deleted, or hidden by its author): the post
	{20101, ingest.KindNotFound, http.StatusBadRequest, "Target weibo does not exist", false}, // [ec]

	// our request or configuration is wrong
	{10007, ingest.KindInvalid, http.StatusBadRequest, "Unsupport mediatype (%s)", false},                           // [ec]
	{10008, ingest.KindInvalid, http.StatusBadRequest, "Param error, see doc for more info", false},                 // [ec]
	{10012, ingest.KindInvalid, http.StatusBadRequest, "Illegal request", false},                                    // [ec]
	{10016, ingest.KindInvalid, http.StatusBadRequest, "Miss required parameter (%s)", false},                       // [ec]
	{10017, ingest.KindInvalid, http.StatusBadRequest, "Parameter (%s)'s value invalid", false},                     // [ec]
	{10018, ingest.KindInvalid, http.StatusBadRequest, "Request body length over limit", false},                     // [ec]
	{10021, ingest.KindInvalid, http.StatusMethodNotAllowed, "HTTP method is not suported for this request", false}, // [ec]
	{20001, ingest.KindInvalid, http.StatusBadRequest, "IDs is null", false},                                        // [ec]
	{20002, ingest.KindInvalid, http.StatusBadRequest, "Uid parameter is null", false},                              // [ec]
	{20009, ingest.KindInvalid, http.StatusBadRequest, "IDs is too many", false},                                    // [ec]
	{21322, ingest.KindInvalid, http.StatusBadRequest, "redirect_uri_mismatch", true},                               // [o2]
	{21323, ingest.KindInvalid, http.StatusBadRequest, "invalid_request", true},                                     // [o2]
	{21324, ingest.KindInvalid, http.StatusBadRequest, "invalid_client", true},                                      // [o2]
	{21328, ingest.KindInvalid, http.StatusBadRequest, "unsupported_grant_type", true},                              // [o2]
	{21329, ingest.KindInvalid, http.StatusBadRequest, "unsupported_response_type", true},                           // [o2]
}

// Weibo is the Weibo Open API's table.
var Weibo = newTable(weiboRows)
