package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/errcode"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// Faults are the probabilities, per request, of each injected fault.
type Faults struct {
	RateLimit   float64 // 429 with Retry-After (or the platform's rate-limit envelope)
	ServerError float64 // 5xx
	Timeout     float64 // the request hangs until the client gives up
	Malformed   float64 // a body that is not what the API documents
	Expire      float64 // the access token expires early
	// Envelope: the platform's error envelope with a code a retry gets past
	// (its rate limits, its "busy, try again"), drawn from the adapters'
	// own tables (ingest/errcode) — mostly with HTTP 200, as the platforms
	// send them.
	Envelope float64
	Decrease float64 // the post's counters are lowered (spam removal)
}

var faultNames = []string{"429", "5xx", "timeout", "malformed", "expire", "envelope", "decrease"}

func (f *Faults) field(name string) *float64 {
	switch name {
	case "429":
		return &f.RateLimit
	case "5xx":
		return &f.ServerError
	case "timeout":
		return &f.Timeout
	case "malformed":
		return &f.Malformed
	case "expire":
		return &f.Expire
	case "envelope":
		return &f.Envelope
	case "decrease":
		return &f.Decrease
	}
	return nil
}

// ParseFaults reads a spec like "429=0.05,5xx=0.05,timeout=0.01,envelope=0.02".
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		p := f.field(strings.TrimSpace(name))
		if !ok || p == nil {
			return f, fmt.Errorf("faults %q: %q: want NAME=PROBABILITY with NAME one of %s", spec, part, strings.Join(faultNames, ", "))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || v < 0 || v > 1 {
			return f, fmt.Errorf("faults %q: %q: probability must be a number from 0 to 1", spec, part)
		}
		*p = v
	}
	if f.RateLimit+f.ServerError+f.Timeout+f.Malformed+f.Expire+f.Envelope > 1 {
		return f, fmt.Errorf("faults %q: request fault probabilities add up to more than 1", spec)
	}
	return f, nil
}

func (f Faults) String() string {
	var parts []string
	for _, n := range faultNames {
		if v := *f.field(n); v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%g", n, v))
		}
	}
	return strings.Join(parts, ",")
}

// Fault is what the simulator does to one request instead of answering it.
type Fault int

const (
	FaultNone Fault = iota
	FaultRateLimit
	FaultServerError
	FaultTimeout
	FaultMalformed
	FaultExpire
	FaultEnvelope
)

// Server serves a Scenario through the platforms' APIs.
type Server struct {
	Scenario *Scenario
	Clock    clock.Clock
	// TokenTTL is how long an access token lasts, per platform; RefreshTTL
	// likewise for refresh tokens. Defaults follow the platforms' docs.
	// Campaign time, like every time the simulated platforms give out
	// (expiries, Retry-After, Date): they run on Clock.
	TokenTTL   map[string]time.Duration
	RefreshTTL map[string]time.Duration
	// EnvelopeCodes are the codes the envelope fault draws from, per
	// platform; default the platform table's Transient codes. Tests set
	// others (any row of the table) to see the adapters read them.
	EnvelopeCodes map[string][]errcode.Code

	faults Faults
	mu     sync.Mutex
	rng    *rand.Rand
	// removed holds what spam removal took off each post, so the platform
	// keeps showing the lower counter afterwards.
	removed map[*Post]Counters
	tokens  map[string]*grant // access or refresh token → grant
	codes   map[string]*grant // authorization code → grant (once)
	nTokens int
	stats   map[string]int // requests by platform and fault
}

// grant is one account's authorization of the app.
type grant struct {
	platform, account string
	access, refresh   string
	expires           time.Time
	refreshExpires    time.Time
	renewals          int
}

// WeiboTokenTTL is the lifetime of a Weibo access token (campaign clock):
// Weibo's 授权机制说明 gives an app that has not passed review (test level)
// 1 day and a reviewed ordinary app 7 days. Web apps get no refresh token,
// so the ambassador must authorize again when it runs out. The simulator
// plays a reviewed app by default: an unreviewed one may be authorized by
// its developer's test accounts only (error 21321 past that), too few for
// the campaign's fifty ambassadors.
func WeiboTokenTTL(reviewed bool) time.Duration {
	if reviewed {
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// NewServer serves sc on clk with the given faults; seed makes the fault
// draws repeatable.
func NewServer(sc *Scenario, clk clock.Clock, f Faults, seed int64) *Server {
	return &Server{
		Scenario: sc, Clock: clk, faults: f,
		TokenTTL:   map[string]time.Duration{"douyin": 15 * 24 * time.Hour, "weibo": WeiboTokenTTL(true)},
		RefreshTTL: map[string]time.Duration{"douyin": 30 * 24 * time.Hour, "weibo": 30 * 24 * time.Hour},
		rng:        rand.New(rand.NewPCG(uint64(seed), 0x5eed)),
		removed:    map[*Post]Counters{}, tokens: map[string]*grant{}, codes: map[string]*grant{},
		stats: map[string]int{},
	}
}

// Handler serves every platform's API on one mux; their paths do not overlap,
// so one base URL can stand in for all three (`--simulator URL`).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.mountDouyin(mux)
	s.mountWeibo(mux)
	s.mountWeChat(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /sim/truth", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Scenario.Truth())
	})
	// The simulated clock, so a separate ingest process can run on it.
	mux.HandleFunc("GET /sim/clock", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"now": s.Clock.Now().Format(time.RFC3339Nano), "speed": s.Clock.Speed()})
	})
	mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Stats())
	})
	return mux
}

// Stats counts requests by "platform fault".
func (s *Server) Stats() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.stats))
	for k, v := range s.stats {
		out[k] = v
	}
	return out
}

var faultLabels = [...]string{"ok", "429", "5xx", "timeout", "malformed", "expire", "envelope"}

// Draw decides the fate of one request to platform: FaultNone or a fault to inject.
func (s *Server) Draw(platform string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.rng.Float64()
	f := FaultNone
	envelope := s.faults.Envelope
	if platform == snapshot.WeChatChannels {
		envelope = 0 // the vendor feed speaks HTTP statuses, not a platform's code table
	}
	for _, c := range []struct {
		p float64
		f Fault
	}{{s.faults.RateLimit, FaultRateLimit}, {s.faults.ServerError, FaultServerError}, {s.faults.Timeout, FaultTimeout}, {s.faults.Malformed, FaultMalformed}, {s.faults.Expire, FaultExpire}, {envelope, FaultEnvelope}} {
		if u < c.p {
			f = c.f
			break
		}
		u -= c.p
	}
	s.stats[platform+" "+faultLabels[f]]++
	return f
}

// EnvelopeFaultCodes are the codes the "envelope" fault draws by default:
// the platform's transient codes that a retry gets past within minutes.
// Weibo's rate limits hold until the top of the hour (the adapter waits for
// it), which is no passing fault; the "429" fault plays rate limiting, and a
// test can set Server.EnvelopeCodes to draw those codes too.
func EnvelopeFaultCodes(platform string, table *errcode.Table) []errcode.Code {
	var out []errcode.Code
	for _, c := range table.Transient() {
		if platform == snapshot.Weibo && c.Kind == ingest.KindRateLimited {
			continue
		}
		out = append(out, c)
	}
	return out
}

// envelopeCode draws the code of an envelope fault for platform from
// table, and whether to send it with HTTP 200 whatever the row's status.
func (s *Server) envelopeCode(platform string, table *errcode.Table) (errcode.Code, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := s.EnvelopeCodes[platform]
	if len(codes) == 0 {
		codes = EnvelopeFaultCodes(platform, table)
	}
	return codes[s.rng.IntN(len(codes))], s.rng.IntN(2) == 0
}

// Hang holds a request until its client gives up, as a timing-out platform
// does; it answers 504 if the client waits longer than a minute (wall time:
// the client's request timeout is wall time too).
func Hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(time.Minute):
		http.Error(w, "gateway timeout", http.StatusGatewayTimeout)
	}
}

// Observe returns the post's counters as the platform shows them now,
// applying spam removal: with the Decrease probability a removal takes 1–5%
// off the engagement counters, and they stay lower from then on.
func (s *Server) Observe(p *Post, at time.Time) Counters {
	c := p.CountersAt(at)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.Decrease > 0 && c.Plays > 100 && s.rng.Float64() < s.faults.Decrease {
		r := s.removed[p]
		f := 0.01 + s.rng.Float64()*0.04
		r.Plays += int64(float64(c.Plays-r.Plays) * f)
		r.Likes += int64(float64(c.Likes-r.Likes) * f)
		r.Comments += int64(float64(c.Comments-r.Comments) * f)
		s.removed[p] = r
	}
	r := s.removed[p]
	c.Plays = max(c.Plays-r.Plays, 0)
	c.Likes = max(c.Likes-r.Likes, 0)
	c.Comments = max(c.Comments-r.Comments, 0)
	return c
}

// ErrTokenExpired and ErrTokenInvalid are what CheckToken reports.
var (
	ErrTokenExpired = errors.New("access token expired")
	ErrTokenInvalid = errors.New("access token invalid")
)

func (s *Server) newSecret(kind, platform, account string) string {
	s.nTokens++
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%d/%d", kind, platform, account, s.nTokens, s.Scenario.Seed)))
	return kind + "." + hex.EncodeToString(h[:12])
}

// Authorize issues an authorization code for an account, as the platform's
// consent page does when the ambassador approves.
func (s *Server) Authorize(platform, account string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := s.newSecret("code", platform, account)
	s.codes[code] = &grant{platform: platform, account: account}
	return code
}

// Grant is the token triple a code exchange or refresh hands out.
type Grant struct {
	Account              string
	AccessToken          string
	RefreshToken         string
	ExpiresIn, RefreshIn time.Duration
	RefreshRenewalsUsed  int
}

// ExchangeCode turns an authorization code into tokens (once).
func (s *Server) ExchangeCode(platform, code string) (Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.codes[code]
	if !ok || g.platform != platform {
		return Grant{}, errors.New("authorization code invalid or used")
	}
	delete(s.codes, code)
	return s.issueLocked(g.platform, g.account, 0), nil
}

// IssueToken authorizes an account directly, as if its ambassador had gone
// through the consent page; `tongxin run` uses it for the simulated roster.
func (s *Server) IssueToken(platform, account string) Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(platform, account, 0)
}

func (s *Server) issueLocked(platform, account string, renewals int) Grant {
	now := s.Clock.Now()
	g := &grant{
		platform: platform, account: account,
		access:  s.newSecret("act", platform, account),
		refresh: s.newSecret("rft", platform, account),
		expires: now.Add(s.TokenTTL[platform]), refreshExpires: now.Add(s.RefreshTTL[platform]),
		renewals: renewals,
	}
	s.tokens[g.access], s.tokens[g.refresh] = g, g
	return Grant{Account: account, AccessToken: g.access, RefreshToken: g.refresh,
		ExpiresIn: s.TokenTTL[platform], RefreshIn: s.RefreshTTL[platform], RefreshRenewalsUsed: renewals}
}

// CheckToken returns the account an access token belongs to.
func (s *Server) CheckToken(platform, access string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.tokens[access]
	if !ok || g.platform != platform || g.access != access {
		return "", ErrTokenInvalid
	}
	if !s.Clock.Now().Before(g.expires) {
		return g.account, ErrTokenExpired
	}
	return g.account, nil
}

// ExpireToken makes an access token expire now (the "expire" fault).
func (s *Server) ExpireToken(access string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.tokens[access]; ok && g.access == access {
		g.expires = s.Clock.Now()
	}
}

// liveRefresh is the grant of a refresh token that is valid and not
// expired at now, the campaign clock's time (s.mu held).
func (s *Server) liveRefresh(platform, refresh string) (*grant, time.Time, error) {
	g, ok := s.tokens[refresh]
	if !ok || g.platform != platform || g.refresh != refresh {
		return nil, time.Time{}, errors.New("refresh token invalid")
	}
	now := s.Clock.Now()
	if !now.Before(g.refreshExpires) {
		return nil, now, errors.New("refresh token expired")
	}
	return g, now, nil
}

// RefreshAccess issues a new access token for a valid refresh token; the
// refresh token stays the same (Douyin's /oauth/refresh_token/).
func (s *Server) RefreshAccess(platform, refresh string) (Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, now, err := s.liveRefresh(platform, refresh)
	if err != nil {
		return Grant{}, err
	}
	delete(s.tokens, g.access)
	g.access = s.newSecret("act", platform, g.account)
	g.expires = now.Add(s.TokenTTL[platform])
	s.tokens[g.access] = g
	return Grant{Account: g.account, AccessToken: g.access, RefreshToken: g.refresh,
		ExpiresIn: s.TokenTTL[platform], RefreshIn: g.refreshExpires.Sub(now), RefreshRenewalsUsed: g.renewals}, nil
}

// MaxRefreshRenewals is how often Douyin lets a refresh token be renewed.
const MaxRefreshRenewals = 5

// RenewRefresh issues a new refresh token (Douyin's
// /oauth/renew_refresh_token/), at most MaxRefreshRenewals times per grant.
func (s *Server) RenewRefresh(platform, refresh string) (Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, now, err := s.liveRefresh(platform, refresh)
	if err != nil {
		return Grant{}, err
	}
	if g.renewals >= MaxRefreshRenewals {
		return Grant{}, fmt.Errorf("refresh token renewed %d times already", g.renewals)
	}
	delete(s.tokens, g.refresh)
	g.renewals++
	g.refresh = s.newSecret("rft", platform, g.account)
	g.refreshExpires = now.Add(s.RefreshTTL[platform])
	s.tokens[g.refresh] = g
	return Grant{Account: g.account, AccessToken: g.access, RefreshToken: g.refresh,
		ExpiresIn: g.expires.Sub(now), RefreshIn: s.RefreshTTL[platform], RefreshRenewalsUsed: g.renewals}, nil
}

// Accounts lists the accounts that have posts on platform.
func (s *Scenario) Accounts(platform string) []string {
	var out []string
	for key := range s.byAccount {
		if p, acct, _ := strings.Cut(key, ":"); p == platform {
			out = append(out, acct)
		}
	}
	sort.Strings(out)
	return out
}
