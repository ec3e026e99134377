package notify

import "github.com/tongxin/tongxin/internal/redact"

const redacted = "REDACTED"

// newRedactor hides one receiver's secrets: the display form of its URL,
// and a scrubber for any text (error messages, echoed response bodies) that
// might contain the URL, its key or token, or the signing secret (extra).
// Besides what every URL hides (user and password, query values, long path
// segments), Feishu's hook token and anything of a generic webhook's path
// (Slack-like hooks keep tokens there) are secrets.
func newRedactor(typ, rawURL string, extra ...string) *redact.Redactor {
	hide := func(segs []string, i int) bool {
		switch typ {
		case TypeFeishu:
			return i > 0 && segs[i-1] == "hook"
		case TypeWebhook:
			return true
		}
		return false
	}
	return redact.URL(rawURL, redacted, hide, extra...)
}
