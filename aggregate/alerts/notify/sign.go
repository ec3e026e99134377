package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// DingTalkSign is the sign parameter of a DingTalk custom robot with 加签:
// base64(HmacSHA256(key = secret, message = timestamp + "\n" + secret)),
// timestamp in milliseconds. The caller URL-encodes it into the query
// (url.Values does), as the documentation's urlEncode step asks.
func DingTalkSign(secret string, timestampMillis int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMillis, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// FeishuSign is the sign field of a Feishu/Lark custom bot with 签名校验:
// base64(HmacSHA256(key = timestamp + "\n" + secret, message = empty)),
// timestamp in seconds. Note the key and message are the other way round
// from DingTalk's.
func FeishuSign(secret string, timestampSeconds int64) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(timestampSeconds, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignatureHeader is the generic webhook's signature header.
const SignatureHeader = "X-Tongxin-Signature"

// WebhookSignature is the value of X-Tongxin-Signature for a body:
// "sha256=" + hex(HmacSHA256(key = secret, message = body)), the scheme of
// GitHub's X-Hub-Signature-256.
func WebhookSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhookSignature checks a received X-Tongxin-Signature in constant
// time, for receivers written in Go.
func VerifyWebhookSignature(secret string, body []byte, header string) bool {
	if !strings.HasPrefix(header, "sha256=") {
		return false
	}
	return hmac.Equal([]byte(header), []byte(WebhookSignature(secret, body)))
}
