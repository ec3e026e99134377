package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/service"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

var simulateCommand = &command{
	name:    "simulate",
	summary: "Serve the platform API simulator (Douyin, Weibo, WeChat Channels feed) for the roster.",
	flags: func(fs *flag.FlagSet, o *options) {
		listenFlag(fs, o, "127.0.0.1:8088")
		clockFlags(fs, o)
		simulatorFlags(fs, o)
		rosterFlag(fs, o)
		startFlag(fs, o)
		fs.BoolVar(&o.truth, "truth", false, "print the planted scenario for --seed (and --start) as JSON and exit")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		sim, err := newSimulation(o)
		if err != nil {
			return err
		}
		if o.truth {
			enc := json.NewEncoder(o.stdout)
			return enc.Encode(sim.Scenario.Truth())
		}
		ln, err := net.Listen("tcp", o.listen)
		if err != nil {
			return err
		}
		o.log.Info("simulator serving", "url", "http://"+ln.Addr().String(), "seed", o.seed, "start", sim.Scenario.Start, "speed", o.speed, "faults", o.faults)
		return service.ServeHTTP(ctx, ln, sim.Handler())
	},
}

// newSimulation builds the seeded scenario and its server on a clock that
// starts at the scenario's start.
func newSimulation(o *options) (*simulator.Server, error) {
	r, err := roster.Load(o.roster)
	if err != nil {
		return nil, err
	}
	start, err := parseStart(o.start)
	if err != nil {
		return nil, err
	}
	faults, err := simulator.ParseFaults(o.faults)
	if err != nil {
		return nil, err
	}
	sc := simulator.New(r, o.seed, start)
	srv := simulator.NewServer(sc, clock.NewScaled(sc.Start, o.speed), faults, o.seed)
	srv.TokenTTL[snapshot.Weibo] = simulator.WeiboTokenTTL(o.weiboReviewed)
	return srv, nil
}

// parseStart reads --start; empty means the current hour, UTC.
func parseStart(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC().Truncate(time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start %q: want an RFC 3339 time like 2026-06-01T00:00:00Z", s)
	}
	return t.UTC(), nil
}
