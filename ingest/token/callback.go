package token

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// ErrNotLoopback is ListenCallback's answer for a redirect URI on another
// machine: the code reaches tongxin some other way (pasted).
var ErrNotLoopback = errors.New("the redirect URI is not on a loopback address")

// CallbackWait bounds how long Code waits: a person approving in a
// browser (wall time).
const CallbackWait = 15 * time.Minute

// Callback receives one authorization's redirect on a loopback redirect
// URI: the platform's consent page sends the ambassador's browser there
// with the code.
type Callback struct {
	srv   *http.Server
	codes chan string
}

// ListenCallback listens on the loopback redirectURI for the redirect that
// carries state. The state ties the redirect to this authorization: any
// other request is refused, so no other page can hand tongxin a code of
// its choosing (CSRF on the callback). Close stops it.
func ListenCallback(redirectURI, state string) (*Callback, error) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return nil, err
	}
	if host := u.Hostname(); host != "127.0.0.1" && host != "localhost" && host != "::1" {
		return nil, ErrNotLoopback
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("listening for the callback on %s: %w", u.Host, err)
	}
	c := &Callback{codes: make(chan string, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc(u.Path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 || q.Get("code") == "" {
			http.Error(w, "this is not the authorization tongxin is waiting for", http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "授权成功 — authorized. You can close this page.")
		select {
		case c.codes <- q.Get("code"):
		default:
		}
	})
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second} // wall
	go c.srv.Serve(ln)                                                      // ends with Close
	return c, nil
}

// Code waits for the code of the redirect, for up to CallbackWait or until
// ctx ends.
func (c *Callback) Code(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CallbackWait)
	defer cancel()
	select {
	case code := <-c.codes:
		return code, nil
	case <-ctx.Done():
		return "", fmt.Errorf("no callback within %v", CallbackWait)
	}
}

// Close stops listening.
func (c *Callback) Close() error { return c.srv.Close() }
