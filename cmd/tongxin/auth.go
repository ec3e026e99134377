package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net/http"
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
		official := false
		if off, isOff := r.Official(ambID); !ok && isOff {
			// An official account authorizes like an ambassador: Weibo's
			// timeline answers only the token's own user.
			amb, ok, official = roster.Ambassador{ID: off.ID, Name: off.Name, Accounts: off.Accounts}, true, true
		}
		if !ok {
			return fmt.Errorf("ambassador %q is not in the roster (nor an official account)", ambID)
		}
		accountID, ok := amb.Accounts[platform]
		if !ok {
			return fmt.Errorf("ambassador %s (%s) has no %s account in the roster", amb.ID, amb.Name, platform)
		}
		acct := roster.Account{Platform: platform, AccountID: accountID, AmbassadorID: amb.ID, Official: official}
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
				amb.Name, amb.ID, platform, auth.AuthURL(o.redirectURI, state))
			if code, err = awaitCode(ctx, o, state); err != nil {
				return err
			}
		}
		t, err := auth.Authorize(ctx, acct, code, o.redirectURI)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.stdout, "authorized: %v; stored in %s\n", t, path)
		return nil
	},
}

// authorizer is one platform's OAuth flow (a simulator.OAuth).
type authorizer struct {
	url       func(redirectURI, state string) string
	authorize func(ctx context.Context, acct roster.Account, code, redirectURI string) (token.Token, error)
}

func (a *authorizer) AuthURL(redirectURI, state string) string { return a.url(redirectURI, state) }

func (a *authorizer) Authorize(ctx context.Context, acct roster.Account, code, redirectURI string) (token.Token, error) {
	return a.authorize(ctx, acct, code, redirectURI)
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
	cb, err := token.ListenCallback(o.redirectURI, state)
	switch {
	case errors.Is(err, token.ErrNotLoopback):
		fmt.Fprint(o.stdout, "paste the code from the page the link led to: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("reading the code: %w", err)
		}
		return strings.TrimSpace(line), nil
	case err != nil:
		return "", fmt.Errorf("--redirect-uri %q: %w", o.redirectURI, err)
	}
	defer cb.Close()
	fmt.Fprintf(o.stdout, "waiting for the callback on %s …\n", o.redirectURI)
	return cb.Code(ctx)
}
