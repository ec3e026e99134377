package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Facts are what a post says about itself, beside its counters: its title
// (the Douyin video's title, the Weibo status's text, the WeChat Channels
// video's description), the link to it and the topics its text carries.
// A snapshot carries them (its "facts" object) when ingest first sees the
// post or they change; the aggregator writes them to post_facts. Bad facts
// never cost the snapshot its counters: they are named, counted and left
// out (FactsProblem).
type Facts struct {
	Title  string   `json:"title"`
	URL    string   `json:"url,omitempty"`
	Topics []string `json:"topics,omitempty"`

	// err is what made the "facts" object unreadable (a wrong JSON type):
	// decoding keeps the snapshot and leaves the verdict to FactsProblem.
	err error
}

// The bounds of Facts. A Weibo status holds at most 2,000 characters
// (longer ones are cut by the API, with a link to the full text), a Douyin
// title at most 1,000, a WeChat Channels description at most 1,000: 2,000
// characters cover every platform. URLs past 2,048 bytes are refused by
// browsers and by Grafana's links alike.
const (
	MaxTitleRunes = 2000
	MaxURLBytes   = 2048
	MaxTopics     = 50
	MaxTopicRunes = 100
)

// NewFacts builds a post's facts from its text and link: the title is the
// text trimmed, the topics those of the text in the platform's syntax.
func NewFacts(platform, text, link string) *Facts {
	text = strings.TrimSpace(text)
	return &Facts{Title: text, URL: link, Topics: Topics(platform, text)}
}

// Hash identifies the facts' content, to send them only when they change.
func (f *Facts) Hash() uint64 {
	h := fnv.New64a()
	h.Write([]byte(f.Title))
	h.Write([]byte{0})
	h.Write([]byte(f.URL))
	for _, t := range f.Topics {
		h.Write([]byte{0})
		h.Write([]byte(t))
	}
	return h.Sum64()
}

// UnmarshalJSON reads a "facts" object; one of the wrong shape is kept as
// an error for FactsProblem instead of failing the whole snapshot.
func (f *Facts) UnmarshalJSON(b []byte) error {
	type plain Facts
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		*f = Facts{err: fmt.Errorf("facts: not an object of title, url and topics: %s", clipMessage(err.Error()))}
		return nil
	}
	*f = Facts(p)
	return nil
}

// FactsProblem says what is wrong with the snapshot's facts, naming the
// field, or nil when they are fine or absent. The snapshot itself is
// judged by Validate, apart.
func (s *Snapshot) FactsProblem() error {
	f := s.Facts
	if f == nil {
		return nil
	}
	if f.err != nil {
		return f.err
	}
	var errs []error
	if !utf8.ValidString(f.Title) {
		errs = append(errs, errors.New("facts.title: not valid UTF-8"))
	} else if n := utf8.RuneCountInString(f.Title); n > MaxTitleRunes {
		errs = append(errs, fmt.Errorf("facts.title: %d characters, at most %d", n, MaxTitleRunes))
	}
	if strings.ContainsFunc(f.Title, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }) {
		errs = append(errs, errors.New("facts.title: holds control characters"))
	}
	if f.URL != "" {
		u, err := url.Parse(f.URL)
		switch {
		case len(f.URL) > MaxURLBytes:
			errs = append(errs, fmt.Errorf("facts.url: %d bytes, at most %d", len(f.URL), MaxURLBytes))
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			errs = append(errs, fmt.Errorf("facts.url: %s is not an http(s) link", Clip(f.URL)))
		}
	}
	if len(f.Topics) > MaxTopics {
		errs = append(errs, fmt.Errorf("facts.topics: %d topics, at most %d", len(f.Topics), MaxTopics))
	}
	for i, t := range f.Topics {
		if t == "" || !utf8.ValidString(t) || utf8.RuneCountInString(t) > MaxTopicRunes || NormalizeTopic(t) != t {
			errs = append(errs, fmt.Errorf("facts.topics[%d]: %s is not a normalised topic of 1 to %d characters", i, Clip(t), MaxTopicRunes))
			break
		}
	}
	return joinErrs(errs)
}

// Topics returns the topics of a post's text, normalised (NormalizeTopic),
// each once, in order of appearance. Weibo writes a topic between two
// hashes, "#寻美西山#", and it may hold spaces; Douyin and WeChat Channels
// write "#寻美西山", ending at whitespace, punctuation or the next hash. A
// full-width ＃ counts as #.
func Topics(platform, text string) []string {
	var raw []string
	if platform == Weibo {
		raw = weiboTopics(text)
	} else {
		raw = hashTopics(text)
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range raw {
		t = NormalizeTopic(t)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

func isHash(r rune) bool { return r == '#' || r == '＃' }

// hashTopics: "#话题" up to whitespace, punctuation or the next hash.
func hashTopics(text string) []string {
	var out []string
	var cur strings.Builder
	in := false
	end := func() {
		if in && cur.Len() > 0 {
			out = append(out, cur.String())
		}
		cur.Reset()
		in = false
	}
	for _, r := range text {
		switch {
		case isHash(r):
			end()
			in = true
		case !in:
		case unicode.IsSpace(r) || (unicode.IsPunct(r) && r != '_' && r != '-' && r != '·' && r != '－' && r != '＿'):
			end()
		default:
			cur.WriteRune(r)
		}
	}
	end()
	return out
}

// weiboTopics: "#话题#" pairs; an unclosed hash is no topic.
func weiboTopics(text string) []string {
	var out []string
	for {
		i := strings.IndexFunc(text, isHash)
		if i < 0 {
			return out
		}
		_, n := utf8.DecodeRuneInString(text[i:])
		rest := text[i+n:]
		j := strings.IndexFunc(rest, isHash)
		if j < 0 {
			return out
		}
		if t := strings.TrimSpace(rest[:j]); t != "" && !strings.ContainsAny(t, "\n\r") {
			out = append(out, t)
		}
		_, m := utf8.DecodeRuneInString(rest[j:])
		text = rest[j+m:]
	}
}

// NormalizeTopic folds a topic so that the ways people type it match: the
// full-width forms of ASCII (＃, Ａ, ０ …) become ASCII and the ideographic
// space a space, as NFKC does for them; Latin letters are lower-cased;
// surrounding space and hashes go, and inner runs of space become one.
func NormalizeTopic(t string) string {
	var b strings.Builder
	space := false
	for _, r := range t {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFF01 - 0x21
		case r == 0x3000:
			r = ' '
		}
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if unicode.Is(unicode.Latin, r) {
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return strings.TrimFunc(b.String(), func(r rune) bool { return r == '#' || unicode.IsSpace(r) })
}
