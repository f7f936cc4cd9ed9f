// Command outbox is the one binary of the Outbox service:
//
//	outbox serve   [--role all|api|worker] [flags]   run the API and/or the workers
//	outbox migrate [flags]                           apply database migrations and exit
//	outbox token   --tenant T --role admin|member [--sub S] [--ttl 1h]
//	                                                 mint a development token
//	outbox version                                   print the version
//
// Every setting is an environment variable with a matching flag; see README.md.
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
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/loglimit"
	"github.com/outbox/outbox/internal/pgserver"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "outbox:", err)
		}
		os.Exit(2)
	}
}

const usage = `usage: outbox <command> [flags]

commands:
  serve     run the API and the delivery workers (--role all|api|worker)
  migrate   apply database migrations and exit
  token     mint a development token: outbox token --tenant acme --role admin
  version   print the version

Run "outbox <command> -h" for the command's flags.`

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(rest, stderr, getenv)
	case "migrate":
		return migrate(rest, stderr, getenv)
	case "token":
		return token(rest, stdout, stderr, getenv)
	case "version":
		fmt.Fprintln(stdout, "outbox", version())
		return nil
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func serve(args []string, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("outbox serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, logger, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx)
}

func migrate(args []string, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("outbox migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	url := cfg.DatabaseURL
	if url == "" {
		pg, err := pgserver.Start(ctx, pgserver.Options{DataDir: filepath.Join(cfg.DataDir, "pg"), Fsync: true, Logger: logger, Database: "outbox"})
		if err != nil {
			return fmt.Errorf("starting the private PostgreSQL: %w", err)
		}
		defer pg.Stop(context.Background()) //nolint:errcheck // logged by pgserver; nothing more to do on exit
		url = pg.URL()
	}
	if err := db.Migrate(ctx, url); err != nil {
		return err
	}
	logger.Info("migrations applied")
	return nil
}

func token(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("outbox token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "tenant the token acts for (required)")
	role := fs.String("role", auth.RoleAdmin, "comma-separated roles: admin, member")
	sub := fs.String("sub", "dev", "subject (user id)")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" {
		return errors.New("--tenant is required")
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	if cfg.JWTSecret == "" {
		return errors.New("OUTBOX_JWT_SECRET: no HS256 secret to sign with (the identity provider's keys are configured instead)")
	}
	tok, err := auth.Mint(auth.MintConfig{
		Issuer:      cfg.JWTIssuer,
		Audience:    cfg.JWTAudience,
		HS256Secret: []byte(cfg.JWTSecret),
		Subject:     *sub,
		Tenant:      *tenant,
		Roles:       strings.Split(*role, ","),
		TTL:         *ttl,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// newLogger returns the service's logger: JSON in production, text
// otherwise, with every value bounded and secrets redacted (loglimit).
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.Production() {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(loglimit.NewHandler(h, loglimit.Options{}))
}

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
