// Package cli holds ibiki's subcommands. Run is the whole program, testable without a process:
// it takes arguments and writers and returns the exit code.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/store"
)

// version is set at build time with -ldflags "-X github.com/ibiki/ibiki/internal/cli.version=…".
var version = ""

const usage = `ibiki — multi-tenant SMS middleware

Usage:
  ibiki serve [flags]      run the server (flags and IBIKI_* variables: ibiki serve -h)
  ibiki migrate [flags]    apply database migrations and exit
  ibiki config             print the effective configuration (from IBIKI_* variables), secrets redacted
  ibiki config --markdown  print every setting as the Markdown table of docs/configuration.md
  ibiki bench inbound ...  load-test inbound webhooks and measure delivery (ibiki bench inbound -h)
  ibiki user create --admin --email EMAIL   add a dashboard operator (password: one line on stdin)
  ibiki user password --email EMAIL         set a dashboard user's password (one line on stdin)
  ibiki version            print the version
`

// Run runs the command named by args[0] and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = migrate(ctx, args[1:], stdout, stderr)
	case "config":
		if len(args) > 1 && args[1] == "--markdown" {
			config.Markdown(stdout) // the table in docs/configuration.md
			return 0
		}
		err = config.Dump(stdout, os.Getenv)
	case "bench":
		err = bench(ctx, args[1:], stdout, stderr)
	case "user":
		err = user(ctx, args[1:], os.Stdin, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "ibiki", Version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ibiki: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0 // the flag package printed the usage that was asked for
	case errors.Is(err, config.ErrUsage):
		return 2 // the flag package printed what was wrong, and the usage
	case err != nil:
		fmt.Fprintln(stderr, "ibiki:", err)
		return 1
	}
	return 0
}

// Version is the build's version: the -ldflags value, else the module version or VCS revision.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintf(stdout, "applied migration %d\n", v)
	}
	return nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
