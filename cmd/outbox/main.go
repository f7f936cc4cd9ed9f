// Command outbox is the one binary of the Outbox service:
//
//	outbox serve   [--role all|api|worker] [flags]   run the API and/or the workers
//	outbox migrate [flags]                           apply database migrations and exit
//	outbox token   --tenant T --role admin|member [--sub S] [--ttl 1h] [--data-dir D]
//	outbox token   --operator [--sub S] [--ttl 1h] [--data-dir D]
//	                                                 mint a development token
//	outbox secret-key [--id ID]                      print a new OUTBOX_SECRET_KEY entry
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
	"github.com/outbox/outbox/internal/secret"
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
            (or --operator); --data-dir names the data directory of the serve
  secret-key  print a new OUTBOX_SECRET_KEY entry: outbox secret-key [--id k2]
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
	case "secret-key":
		return secretKey(rest, stdout, stderr)
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

// token mints a development token, signed with the HS256 secret the serve
// of the same data directory verifies with. It never creates secrets: a
// token signed with a fresh one would be refused by the running serve.
func token(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("outbox token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "tenant the token acts for (required, except with --operator)")
	role := fs.String("role", auth.RoleAdmin, "comma-separated roles: admin, member")
	operator := fs.Bool("operator", false, "mint a platform operator's token (no tenant, no other role)")
	sub := fs.String("sub", "dev", "subject (user id)")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	dataDir := fs.String("data-dir", "", "data directory of the serve that is to accept the token (default $OUTBOX_DATA_DIR, else ./.outbox)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	mint := auth.MintConfig{Subject: *sub, TTL: *ttl, Operator: *operator}
	switch {
	case *operator && (given["tenant"] || given["role"]):
		return errors.New("--operator mints a token for no tenant and with no other role: leave out --tenant and --role")
	case *operator:
		// Nothing else to give: Mint adds the operator role.
	case *tenant == "":
		return errors.New("--tenant is required (or --operator)")
	default:
		mint.Tenant, mint.Roles = *tenant, strings.Split(*role, ",")
	}

	// The settings as serve resolves them, --data-dir standing in for
	// serve's flag of the same name.
	var configArgs []string
	if *dataDir != "" {
		configArgs = []string{"--data-dir", *dataDir}
	}
	cfg, err := config.Parse(flag.NewFlagSet("outbox token", flag.ContinueOnError), configArgs, getenv)
	if err != nil {
		return err
	}
	if err := cfg.ReadDevSecrets(); err != nil {
		return err
	}
	if cfg.JWTSecret == "" {
		if cfg.JWTJWKSFile != "" || cfg.Production() {
			return errors.New("OUTBOX_JWT_SECRET: no HS256 secret to sign with (the identity provider's keys are configured instead)")
		}
		dir, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			dir = cfg.DataDir
		}
		return fmt.Errorf("no development secrets in %s: start `outbox serve` once with this data directory, "+
			"or pass --data-dir (or set OUTBOX_DATA_DIR) to the data directory of the running serve, or set OUTBOX_JWT_SECRET", dir)
	}
	mint.Issuer, mint.Audience, mint.HS256Secret = cfg.JWTIssuer, cfg.JWTAudience, []byte(cfg.JWTSecret)
	tok, err := auth.Mint(mint)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// secretKey prints a fresh keyring entry for OUTBOX_SECRET_KEY on stdout,
// and how to use it on stderr, so that $(outbox secret-key) is the entry.
func secretKey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("outbox secret-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "k"+time.Now().UTC().Format("20060102"), "key id: letters, digits, '.', '_', '-'")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the key id goes in --id)", fs.Arg(0))
	}
	entry, err := secret.GenerateKeySpec(*id)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, entry)
	fmt.Fprintln(stderr, "Set OUTBOX_SECRET_KEY to this entry; to rotate, put it first and keep the old entries after it, comma-separated, until every stored secret is saved again.")
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
