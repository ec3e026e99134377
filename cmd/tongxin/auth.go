package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/douyin"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/ingest/weibo"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

var authCommand = &command{
	name:  "auth",
	usage: "douyin|weibo AMBASSADOR",
	summary: "Authorize the app for one ambassador's account: prints the authorization URL, takes the callback code\n" +
		"(from --code, from a callback on a loopback --redirect-uri, or pasted), and stores the token.",
	flags: func(fs *flag.FlagSet, o *options) {
		platformFlags(fs, o)
		rosterFlag(fs, o)
		credentialFlags(fs, o)
		fs.StringVar(&o.tokenFile, "token-file", "", "the token store (default: ~/.config/tongxin/tokens.json)")
		fs.StringVar(&o.redirectURI, "redirect-uri", "http://127.0.0.1:8765/callback", "the app's registered redirect URI; on a loopback address tongxin receives the callback itself")
		fs.StringVar(&o.code, "code", "", "the authorization code from the callback, if you have it already")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		if len(args) != 2 {
			return errors.New("usage: tongxin auth douyin|weibo AMBASSADOR")
		}
		platform, ambID := args[0], args[1]
		r, err := roster.Load(o.roster)
		if err != nil {
			return err
		}
		amb, ok := r.Ambassador(ambID)
		if !ok {
			return fmt.Errorf("ambassador %q is not in the roster", ambID)
		}
		accountID, ok := amb.Accounts[platform]
		if !ok {
			return fmt.Errorf("ambassador %s (%s) has no %s account in the roster", amb.ID, amb.Name, platform)
		}
		acct := roster.Account{Platform: platform, AccountID: accountID, AmbassadorID: amb.ID}
		if o.simulatorURL != "" {
			o.douyinURL, o.weiboURL = o.simulatorURL, o.simulatorURL
		}
		path := o.tokenFile
		if path == "" {
			path = token.DefaultPath()
		}
		auth, err := newAuthorizer(o, platform, token.NewFileStore(path), clock.Real())
		if err != nil {
			return err
		}
		// The state ties the callback to this run: unguessable, so no other
		// page can hand tongxin a code of its choosing (CSRF on the callback).
		state := rand.Text()
		code := o.code
		if code == "" {
			fmt.Fprintf(o.stdout, "Ask %s (%s) to open this link, log in as their %s account and approve:\n\n  %s\n\n",
				amb.Name, amb.ID, platform, auth.url(o.redirectURI, state))
			if code, err = awaitCode(ctx, o, state); err != nil {
				return err
			}
		}
		t, err := auth.authorize(ctx, acct, code, o.redirectURI)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.stdout, "authorized: %v; stored in %s\n", t, path)
		return nil
	},
}

// authorizer is one platform's OAuth flow.
type authorizer struct {
	url       func(redirectURI, state string) string
	authorize func(ctx context.Context, acct roster.Account, code, redirectURI string) (token.Token, error)
}

// newAuthorizer's clk is the campaign clock the tokens' expiries are read
// on: the wall clock against the real platforms, the simulator's clock
// against the simulator (whose tokens expire in campaign time).
func newAuthorizer(o *options, platform string, tokens token.Store, clk clock.Clock) (*authorizer, error) {
	httpc := &http.Client{Timeout: 30 * time.Second} // wall
	switch platform {
	case snapshot.Douyin:
		c := douyin.New(douyin.Config{ClientConfig: ingest.ClientConfig{BaseURL: o.douyinURL, HTTP: httpc, Clock: clk, Log: o.log},
			Tokens: tokens, ClientKey: o.douyinKey, ClientSecret: o.douyinSecret})
		return &authorizer{url: c.AuthURL, authorize: func(ctx context.Context, acct roster.Account, code, _ string) (token.Token, error) {
			return c.Authorize(ctx, acct, code)
		}}, nil
	case snapshot.Weibo:
		c := weibo.New(weibo.Config{ClientConfig: ingest.ClientConfig{BaseURL: o.weiboURL, HTTP: httpc, Clock: clk, Log: o.log},
			Tokens: tokens, AppKey: o.weiboKey, AppSecret: o.weiboSecret})
		return &authorizer{url: c.AuthURL, authorize: func(ctx context.Context, acct roster.Account, code, redirectURI string) (token.Token, error) {
			t, err := c.ExchangeRedirect(ctx, code, redirectURI)
			if err != nil {
				return token.Token{}, err
			}
			if t.AccountID != acct.AccountID {
				return token.Token{}, fmt.Errorf("ambassador %s approved with Weibo uid %s, but the roster names %s: was someone else logged in?", acct.AmbassadorID, t.AccountID, acct.AccountID)
			}
			return t, tokens.Put(t)
		}}, nil
	}
	return nil, fmt.Errorf("auth: platform %q has no OAuth (want douyin or weibo; WeChat Channels comes by export or a vendor feed)", platform)
}

// awaitCode receives the callback on a loopback redirect URI, or asks for
// the code on standard input.
func awaitCode(ctx context.Context, o *options, state string) (string, error) {
	u, err := url.Parse(o.redirectURI)
	if err != nil {
		return "", fmt.Errorf("--redirect-uri %q: %w", o.redirectURI, err)
	}
	if host := u.Hostname(); host == "127.0.0.1" || host == "localhost" || host == "::1" {
		ln, err := net.Listen("tcp", u.Host)
		if err != nil {
			return "", fmt.Errorf("listening for the callback on %s: %w", u.Host, err)
		}
		codes := make(chan string, 1)
		mux := http.NewServeMux()
		mux.HandleFunc(u.Path, func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 || q.Get("code") == "" {
				http.Error(w, "this is not the authorization tongxin is waiting for", http.StatusBadRequest)
				return
			}
			fmt.Fprintln(w, "授权成功 — authorized. You can close this page.")
			select {
			case codes <- q.Get("code"):
			default:
			}
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(o.stdout, "waiting for the callback on %s …\n", o.redirectURI)
		ctx, cancel := context.WithTimeout(ctx, 15*time.Minute) // wall: a person approving in a browser
		defer cancel()
		select {
		case c := <-codes:
			return c, nil
		case <-ctx.Done():
			return "", errors.New("no callback within 15 minutes")
		}
	}
	fmt.Fprint(o.stdout, "paste the code from the page the link led to: ")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the code: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// consentViaSimulator authorizes an account against the simulator: its
// consent page approves at once for the account named in the URL, and the
// code goes through the platform's real exchange, as `tongxin auth` does.
func consentViaSimulator(ctx context.Context, auth *authorizer, acct roster.Account) error {
	const redirect = "http://127.0.0.1/tongxin-sim-callback"
	u := auth.url(redirect, "sim") + "&account=" + url.QueryEscape(acct.AccountID)
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	noRedirect := &http.Client{Timeout: 10 * time.Second /* wall */, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		return fmt.Errorf("simulator consent for %s: %w", acct.AmbassadorID, err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return fmt.Errorf("simulator consent for %s %s: no code in the redirect (HTTP %d)", acct.Platform, acct.AmbassadorID, resp.StatusCode)
	}
	_, err = auth.authorize(ctx, acct, loc.Query().Get("code"), redirect)
	return err
}
