package notify

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

const redacted = "REDACTED"

// redactor hides one receiver's secrets: the display form of its URL, and
// a scrubber for any text (error messages, echoed response bodies) that
// might contain the URL, its key or token, or the signing secret.
type redactor struct {
	display string   // the URL safe to show
	urls    []string // the raw URL in its spellings, shown as display
	secrets []string // longest first
}

// minSecret is the shortest string scrubbed from text; shorter ones would
// mangle ordinary words (and are no real secret anyway).
const minSecret = 4

func newRedactor(typ, rawURL string, extra ...string) *redactor {
	r := &redactor{}
	var secrets []string
	add := func(s string) {
		if len(s) >= minSecret {
			secrets = append(secrets, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	for _, s := range extra {
		add(s)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		// Unparseable: hide it whole.
		add(rawURL)
		r.display = "<url " + redacted + ">"
		r.secrets = dedupe(secrets)
		return r
	}
	r.urls = dedupe([]string{rawURL, url.QueryEscape(rawURL)})
	if u.User != nil {
		user := u.User.Username()
		add(user)
		if p, ok := u.User.Password(); ok {
			add(p)
			// The Authorization header a server might echo back.
			add(base64.StdEncoding.EncodeToString([]byte(user + ":" + p)))
		}
		u.User = url.User(redacted)
	}
	q := u.Query()
	for k, vs := range q {
		for _, v := range vs {
			add(v)
		}
		q[k] = []string{redacted}
	}
	u.RawQuery = q.Encode()
	u.Fragment = ""
	u.RawFragment = ""
	// Path segments that may be tokens: Feishu's hook token, anything of a
	// generic webhook's path (Slack-like hooks keep tokens there), and for
	// every type, long segments.
	segs := strings.Split(u.Path, "/")
	for i, s := range segs {
		hide := false
		switch typ {
		case TypeFeishu:
			hide = i > 0 && segs[i-1] == "hook"
		case TypeWebhook:
			hide = s != ""
		}
		if len(s) >= 16 {
			hide = true
		}
		if hide && s != "" {
			add(s)
			segs[i] = redacted
		}
	}
	u.Path = strings.Join(segs, "/")
	u.RawPath = ""
	r.display = u.String()
	r.secrets = dedupe(secrets)
	return r
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if len(s) >= minSecret && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	// Longest first, so a URL goes before the key inside it.
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// scrub replaces every secret in s.
func (r *redactor) scrub(s string) string {
	for _, u := range r.urls {
		s = strings.ReplaceAll(s, u, r.display)
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}
