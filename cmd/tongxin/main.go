// Command tongxin watches the 寻美西山 campaign: it pulls the counters of every
// ambassador's posts into Kafka, rolls them up exactly into ClickHouse, and
// raises alerts. This file only wires subcommands to the packages that do the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/tongxin/tongxin/internal/config"
)

// command is one subcommand: its flags and what it does.
type command struct {
	name    string
	summary string
	usage   string // argument synopsis after the flags
	flags   func(fs *flag.FlagSet, o *options)
	run     func(ctx context.Context, o *options, args []string) error
}

var commands = []*command{
	runCommand, ingestCommand, aggregateCommand, simulateCommand, migrateCommand,
	importCommand, authCommand, dashboardsCommand, reportCommand,
}

var errNotImplemented = errors.New("not implemented yet")

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var cmd *command
	for _, c := range commands {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "tongxin: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return 2
	}

	o := &options{stdout: stdout, stderr: stderr}
	fs := newFlagSet(cmd, o, stderr)
	file, positional, err := config.Parse(fs, args[1:], knownKeys())
	o.file = file
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "tongxin %s: %v\n", cmd.name, err)
		return 2
	}
	o.log = newLogger(stderr, o.logLevel)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.runFor)
		defer cancel()
	}
	err = cmd.run(ctx, o, positional)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errNotImplemented):
		fmt.Fprintf(stderr, "tongxin %s: %v\n", cmd.name, err)
		return 3
	default:
		fmt.Fprintf(stderr, "tongxin %s: %v\n", cmd.name, err)
		return 1
	}
}

func newFlagSet(cmd *command, o *options, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tongxin "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.configPath, "config", "", "YAML config file holding any of these flags as keys")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.flags(fs, o)
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: tongxin %s [flags] %s\n\n%s\n\nFlags (each also TONGXIN_<FLAG> in the environment, or a key in --config):\n",
			cmd.name, cmd.usage, cmd.summary)
		fs.PrintDefaults()
	}
	return fs
}

// knownKeys is every flag name of every subcommand: one config file can
// serve all services, while a misspelt key is still reported.
func knownKeys() map[string]bool {
	keys := map[string]bool{}
	for _, c := range commands {
		fs := newFlagSet(c, &options{}, io.Discard)
		fs.VisitAll(func(f *flag.Flag) { keys[f.Name] = true })
	}
	for _, s := range configSections {
		keys[s] = true
	}
	return keys
}

// configSections are top-level config keys that hold structured settings
// rather than a flag value.
var configSections = []string{"notify", "index", "report_delivery"}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: tongxin COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	width := 0
	for _, c := range commands {
		names = append(names, c.name)
		width = max(width, len(c.name))
	}
	sort.Strings(names)
	for _, n := range names {
		for _, c := range commands {
			if c.name == n {
				fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, strings.SplitN(c.summary, "\n", 2)[0])
			}
		}
	}
	fmt.Fprintln(w, "\nRun 'tongxin COMMAND --help' for the flags of a command.")
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
