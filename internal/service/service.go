// Package service serves what every tongxin service shows operators:
// Prometheus metrics on /metrics and a health check on /healthz.
package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Server is a service's operator HTTP endpoint.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen binds addr and prepares /metrics, /healthz and any extra handlers.
// health returns nil while the service is healthy.
func Listen(addr string, reg *prometheus.Registry, health func() error, extra map[string]http.Handler) (*Server, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if health != nil {
			if err := health(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	for p, h := range extra {
		mux.Handle(p, h)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	return serve(ctx, s.ln, s.srv)
}

// ServeHTTP serves h on ln until ctx ends, then shuts down gracefully.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler) error {
	return serve(ctx, ln, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second})
}

func serve(ctx context.Context, ln net.Listener, srv *http.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second) // wall
	defer cancel()
	err := srv.Shutdown(shut)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && e != nil {
		return e
	}
	return err
}
