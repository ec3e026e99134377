package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"testing"
)

// Known answers, computed outside Go from the documented algorithms with
// Python's hmac, hashlib and base64 modules (see testdata/kat.py).
const (
	// DingTalk: base64(HmacSHA256(key=secret, msg=timestamp+"\n"+secret)), ms.
	dingSecret     = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	dingTS         = 1700000000000
	dingKAT        = "bTgY2yDbep+wesS7jKiNj+srsHoADES4+C4f8LCHFtU="
	dingKATEscaped = "bTgY2yDbep%2BwesS7jKiNj%2BsrsHoADES4%2BC4f8LCHFtU%3D"
	// The documentation's own sample secret, at a fixed time.
	dingDocSecret = "this is secret"
	dingDocTS     = 1577262236757
	dingDocKAT    = "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="

	// Feishu: base64(HmacSHA256(key=timestamp+"\n"+secret, msg="")), seconds;
	// 1599360473 is the documentation's example timestamp.
	feishuSecret = "demo-secret-for-kat"
	feishuTS     = 1599360473
	feishuKAT    = "cNE/lRfO83KPMIFHzSl4gFO09J7R4EaClIPPT0BZPdQ="

	// Generic webhook: GitHub's published test vector for X-Hub-Signature-256
	// ("Validating webhook deliveries": secret "It's a Secret to Everybody",
	// payload "Hello, World!").
	githubSecret  = "It's a Secret to Everybody"
	githubPayload = "Hello, World!"
	githubKAT     = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func refHex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func TestDingTalkSignKnownAnswers(t *testing.T) {
	if got := DingTalkSign(dingSecret, dingTS); got != dingKAT {
		t.Errorf("DingTalkSign = %q, want %q", got, dingKAT)
	}
	if got := url.QueryEscape(DingTalkSign(dingSecret, dingTS)); got != dingKATEscaped {
		t.Errorf("url-encoded sign = %q, want %q", got, dingKATEscaped)
	}
	if got := DingTalkSign(dingDocSecret, dingDocTS); got != dingDocKAT {
		t.Errorf("DingTalkSign(doc sample) = %q, want %q", got, dingDocKAT)
	}
	// And the independent test implementation agrees.
	if refDingTalk(dingSecret, "1700000000000") != dingKAT {
		t.Error("reference implementation disagrees with the known answer")
	}
}

func TestFeishuSignKnownAnswer(t *testing.T) {
	if got := FeishuSign(feishuSecret, feishuTS); got != feishuKAT {
		t.Errorf("FeishuSign = %q, want %q", got, feishuKAT)
	}
	if refFeishu(feishuSecret, "1599360473") != feishuKAT {
		t.Error("reference implementation disagrees with the known answer")
	}
	// The classic mistake (DingTalk's order: key=secret, msg=ts+"\n"+secret)
	// must not be what we do.
	if FeishuSign(feishuSecret, feishuTS) == refDingTalk(feishuSecret, "1599360473") {
		t.Error("Feishu sign computed with DingTalk's key/message order")
	}
}

func TestWebhookSignatureKnownAnswer(t *testing.T) {
	if got := WebhookSignature(githubSecret, []byte(githubPayload)); got != githubKAT {
		t.Errorf("WebhookSignature = %q, want GitHub's %q", got, githubKAT)
	}
	if !VerifyWebhookSignature(githubSecret, []byte(githubPayload), githubKAT) {
		t.Error("Verify rejects the known answer")
	}
	for _, bad := range []string{"", githubKAT[7:], "sha1=" + githubKAT[7:], githubKAT[:len(githubKAT)-1] + "0"} {
		if VerifyWebhookSignature(githubSecret, []byte(githubPayload), bad) {
			t.Errorf("Verify accepts %q", bad)
		}
	}
	if VerifyWebhookSignature("other", []byte(githubPayload), githubKAT) {
		t.Error("Verify accepts a signature made with another secret")
	}
}
