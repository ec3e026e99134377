// Package redact keeps secrets out of what people and machines read: error
// messages, log lines, metrics labels, banners. A secret is a platform
// token, key or OAuth code, a DSN's password, a robot's webhook URL (its
// token sits in the query or the path) or its signing secret. Every place
// that shows text which might carry one — a platform's echoed answer, a
// driver's error, a server's reply — hides them through here, so the rules
// (every spelling, the longest first, an error left whole when it shows
// none) are the same everywhere.
package redact

import (
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strings"
)

// MinGuess is the shortest piece of a URL (a query value, a path segment,
// a user name) taken for a secret: shorter ones are ordinary words or
// numbers, and hiding them would mangle the text around them. Secrets a
// caller names are hidden however short.
const MinGuess = 4

// A Redactor hides a fixed set of secrets in any text.
type Redactor struct {
	mark string
	// display is the secret-bearing URL safe to show (URL only); urls are
	// that URL's raw spellings, each shown as display.
	display string
	urls    []string
	secrets []string // every spelling, longest first
}

// New is a Redactor that shows each secret as mark, in every spelling it
// may take in text: as given, and query- and path-escaped. Empty secrets
// are ignored.
func New(mark string, secrets ...string) *Redactor {
	r := &Redactor{mark: mark}
	for _, s := range secrets {
		r.add(s)
	}
	r.secrets = longestFirst(r.secrets)
	return r
}

func (r *Redactor) add(s string) {
	if s != "" {
		r.secrets = append(r.secrets, s, url.QueryEscape(s), url.PathEscape(s))
	}
}

// longestFirst drops repeats and sorts the longest first, so a URL is
// replaced before the key inside it and a secret that holds another is
// replaced whole.
func longestFirst(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// String is s with every secret hidden: a spelling of the URL the
// Redactor was made for reads as its display form, any other secret as
// the mark.
func (r *Redactor) String(s string) string {
	for _, u := range r.urls {
		s = strings.ReplaceAll(s, u, r.display)
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, r.mark)
		}
	}
	return s
}

// Error is err with every secret hidden from its message. An error that
// shows none is returned as it is, so errors.Is and errors.As still find
// its cause; one that does becomes a plain error of the hidden text (its
// chain would still hold the secret).
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := r.String(msg); red != msg {
		return errors.New(red)
	}
	return err
}

// Display is the URL a Redactor from URL was made for, safe to show; ""
// for one from New.
func (r *Redactor) Display() string { return r.display }

// URL is a Redactor for a URL that carries secrets — a robot's webhook
// with its token, a receiver with a user and password — and for extra
// secrets that go with it (a signing secret). Its display form hides the
// user and password, every query value, the fragment, every path segment
// hide picks (nil: none) and every segment of 16 bytes or more (long
// segments are tokens, whatever the API); those of MinGuess bytes or more
// are hidden in text as well. A URL that does not parse (or names no host)
// is hidden whole.
func URL(rawURL, mark string, hide func(segs []string, i int) bool, extra ...string) *Redactor {
	r := &Redactor{mark: mark}
	for _, s := range extra {
		r.add(s)
	}
	guess := func(s string) {
		if len(s) >= MinGuess {
			r.add(s)
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		guess(rawURL)
		r.display = "<url " + mark + ">"
		r.secrets = longestFirst(r.secrets)
		return r
	}
	for _, s := range []string{rawURL, url.QueryEscape(rawURL)} {
		if len(s) >= MinGuess {
			r.urls = append(r.urls, s)
		}
	}
	r.urls = longestFirst(r.urls)
	if u.User != nil {
		user := u.User.Username()
		guess(user)
		if p, ok := u.User.Password(); ok {
			guess(p)
			// The Authorization header a server might echo back.
			guess(base64.StdEncoding.EncodeToString([]byte(user + ":" + p)))
		}
		u.User = url.User(mark)
	}
	q := u.Query()
	for k, vs := range q {
		for _, v := range vs {
			guess(v)
		}
		q[k] = []string{mark}
	}
	u.RawQuery = q.Encode()
	guess(u.Fragment)
	u.Fragment, u.RawFragment = "", ""
	segs := strings.Split(u.Path, "/")
	for i, s := range segs {
		if s != "" && (len(s) >= 16 || hide != nil && hide(segs, i)) {
			guess(s)
			segs[i] = mark
		}
	}
	u.Path, u.RawPath = strings.Join(segs, "/"), ""
	r.display = u.String()
	r.secrets = longestFirst(r.secrets)
	return r
}

// DSNMark is what a DSN's password reads as in a DSN shown.
const DSNMark = "xxxxx"

// DSN is dsn fit for a log line, a banner or an error: the password in its
// userinfo and any password= parameter read as DSNMark.
func DSN(dsn string) string {
	return New(DSNMark, DSNPasswords(dsn)...).String(dsn)
}

// DSNPasswords are the secrets a DSN (clickhouse-go's, URL-shaped)
// carries: the userinfo's password and any password= parameter, as
// written and unescaped.
func DSNPasswords(dsn string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
			if u, err := url.QueryUnescape(s); err == nil && u != s {
				out = append(out, u)
			}
		}
	}
	rest := dsn
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	hostPart := rest
	if i := strings.IndexAny(hostPart, "/?"); i >= 0 {
		hostPart = hostPart[:i]
	}
	if at := strings.LastIndex(hostPart, "@"); at >= 0 {
		if _, p, ok := strings.Cut(hostPart[:at], ":"); ok {
			add(p)
		}
	}
	if _, q, ok := strings.Cut(dsn, "?"); ok {
		for _, kv := range strings.Split(q, "&") {
			if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "password") {
				add(v)
			}
		}
	}
	return out
}
