package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Environments.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Roles a process can take.
const (
	RoleAll    = "all"
	RoleAPI    = "api"
	RoleWorker = "worker"
)

// Config is every setting of the service. Each field names its environment
// variable and flag; the default is in Bind.
type Config struct {
	// Env is OUTBOX_ENV / --env: "development" (default) or "production".
	Env string
	// Role is OUTBOX_ROLE / --role: "all" (default), "api" or "worker".
	Role string
	// DatabaseURL is DATABASE_URL / --database-url. Empty (default) starts a
	// private PostgreSQL under DataDir/pg.
	DatabaseURL string
	// HTTPAddr is OUTBOX_HTTP_ADDR / --http-addr (default 127.0.0.1:8080).
	HTTPAddr string
	// DataDir is OUTBOX_DATA_DIR / --data-dir (default ./.outbox): the private
	// database and the generated development secrets.
	DataDir string
	// PublicURL is OUTBOX_PUBLIC_URL / --public-url, the base of links in mail
	// (default http://<HTTPAddr>).
	PublicURL string
	// PlatformName is OUTBOX_PLATFORM_NAME / --platform-name (default
	// "Outbox"), shown as "<tenant> via <platform>".
	PlatformName string
	// PlatformFrom is OUTBOX_PLATFORM_FROM / --platform-from, the platform's
	// sender address (default notifications@outbox.localhost).
	PlatformFrom string
	// PlatformSMTPURL is OUTBOX_PLATFORM_SMTP_URL / --platform-smtp-url, the
	// platform relay as smtp://user:pass@host:port?security=starttls|tls|none.
	// Empty (default) delivers platform mail to the built-in dev mailbox.
	PlatformSMTPURL string
	// SecretKey is OUTBOX_SECRET_KEY / --secret-key: the keyring that seals
	// stored passwords, "kid:base64key[,kid:base64key…]", first one current.
	// Generated into DataDir in development; required in production.
	SecretKey string
	// JWTSecret is OUTBOX_JWT_SECRET / --jwt-secret, the HS256 secret of
	// platform user tokens. Generated into DataDir in development.
	JWTSecret string
	// JWTJWKSFile is OUTBOX_JWT_JWKS_FILE / --jwt-jwks-file, public keys of the
	// platform identity provider (optional).
	JWTJWKSFile string
	// JWTIssuer is OUTBOX_JWT_ISSUER / --jwt-issuer (default outbox-dev).
	JWTIssuer string
	// JWTAudience is OUTBOX_JWT_AUDIENCE / --jwt-audience (default outbox).
	JWTAudience string
	// ShutdownTimeout is OUTBOX_SHUTDOWN_TIMEOUT / --shutdown-timeout (default
	// 30s): how long running jobs and requests get to finish on SIGTERM.
	ShutdownTimeout time.Duration
	// Workers is OUTBOX_WORKERS / --workers (default 50): River workers of
	// the default queue in this process.
	Workers int
	// LogLevel is OUTBOX_LOG_LEVEL / --log-level: debug, info (default), warn, error.
	LogLevel string
	// MaxBodyBytes is OUTBOX_MAX_BODY_BYTES / --max-body-bytes (default 32 MiB):
	// the largest GraphQL request body.
	MaxBodyBytes int64
	// QueryComplexity is OUTBOX_QUERY_COMPLEXITY / --query-complexity (default
	// 2000): the most complex GraphQL operation accepted.
	QueryComplexity int
	// QueryDepth is OUTBOX_QUERY_DEPTH / --query-depth (default 12): the
	// deepest GraphQL operation accepted.
	QueryDepth int
	// WebsocketOrigins is OUTBOX_WS_ORIGINS / --ws-origins: comma-separated
	// origin patterns allowed to open websockets (default: same host only).
	WebsocketOrigins string
	// VerificationTTL is OUTBOX_VERIFICATION_TTL / --verification-ttl (default
	// 24h): how long a sender verification link stays valid.
	VerificationTTL time.Duration
}

// Production reports whether the service runs with OUTBOX_ENV=production.
func (c *Config) Production() bool { return c.Env == EnvProduction }

// RunsAPI reports whether this process serves HTTP.
func (c *Config) RunsAPI() bool { return c.Role == RoleAll || c.Role == RoleAPI }

// RunsWorker reports whether this process works River jobs.
func (c *Config) RunsWorker() bool { return c.Role == RoleAll || c.Role == RoleWorker }

// Bind registers every setting as a flag on fs, with defaults taken from the
// environment (read through getenv) and then from the built-in defaults. The
// returned function, called after fs.Parse, reports environment values that
// did not parse.
func Bind(fs *flag.FlagSet, c *Config, getenv func(string) string) (envErrors func() error) {
	b := &binder{fs: fs, getenv: getenv}
	b.str(&c.Env, "env", "OUTBOX_ENV", EnvDevelopment, "development or production")
	b.str(&c.Role, "role", "OUTBOX_ROLE", RoleAll, "all, api or worker")
	b.str(&c.DatabaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL URL; empty starts a private server under the data directory")
	b.str(&c.HTTPAddr, "http-addr", "OUTBOX_HTTP_ADDR", "127.0.0.1:8080", "HTTP listen address")
	b.str(&c.DataDir, "data-dir", "OUTBOX_DATA_DIR", "./.outbox", "data directory (private database, development secrets)")
	b.str(&c.PublicURL, "public-url", "OUTBOX_PUBLIC_URL", "", "public base URL of links in mail (default http://<http-addr>)")
	b.str(&c.PlatformName, "platform-name", "OUTBOX_PLATFORM_NAME", "Outbox", "platform name in \"<tenant> via <platform>\"")
	b.str(&c.PlatformFrom, "platform-from", "OUTBOX_PLATFORM_FROM", "notifications@outbox.localhost", "platform sender address")
	b.str(&c.PlatformSMTPURL, "platform-smtp-url", "OUTBOX_PLATFORM_SMTP_URL", "", "platform relay smtp://user:pass@host:port?security=starttls|tls|none; empty uses the dev mailbox")
	b.str(&c.SecretKey, "secret-key", "OUTBOX_SECRET_KEY", "", "keyring sealing stored passwords: kid:base64key[,…]")
	b.str(&c.JWTSecret, "jwt-secret", "OUTBOX_JWT_SECRET", "", "HS256 secret of platform user tokens")
	b.str(&c.JWTJWKSFile, "jwt-jwks-file", "OUTBOX_JWT_JWKS_FILE", "", "JWKS file of the platform identity provider")
	b.str(&c.JWTIssuer, "jwt-issuer", "OUTBOX_JWT_ISSUER", "outbox-dev", "issuer of platform user tokens")
	b.str(&c.JWTAudience, "jwt-audience", "OUTBOX_JWT_AUDIENCE", "outbox", "audience of every token")
	b.duration(&c.ShutdownTimeout, "shutdown-timeout", "OUTBOX_SHUTDOWN_TIMEOUT", 30*time.Second, "time running jobs get on shutdown")
	b.int(&c.Workers, "workers", "OUTBOX_WORKERS", 50, "River workers in this process")
	b.str(&c.LogLevel, "log-level", "OUTBOX_LOG_LEVEL", "info", "debug, info, warn or error")
	b.int64(&c.MaxBodyBytes, "max-body-bytes", "OUTBOX_MAX_BODY_BYTES", 32<<20, "largest GraphQL request body")
	b.int(&c.QueryComplexity, "query-complexity", "OUTBOX_QUERY_COMPLEXITY", 2000, "GraphQL complexity limit")
	b.int(&c.QueryDepth, "query-depth", "OUTBOX_QUERY_DEPTH", 12, "GraphQL depth limit")
	b.str(&c.WebsocketOrigins, "ws-origins", "OUTBOX_WS_ORIGINS", "", "comma-separated websocket origin patterns")
	b.duration(&c.VerificationTTL, "verification-ttl", "OUTBOX_VERIFICATION_TTL", 24*time.Hour, "sender verification link lifetime")
	return func() error { return errors.Join(b.errs...) }
}

// Validate checks every field and fills the derived defaults. Its errors name
// the environment variable at fault.
func (c *Config) Validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		bad("OUTBOX_ENV", "must be %q or %q, not %q", EnvDevelopment, EnvProduction, c.Env)
	}
	if c.Role != RoleAll && c.Role != RoleAPI && c.Role != RoleWorker {
		bad("OUTBOX_ROLE", "must be all, api or worker, not %q", c.Role)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("OUTBOX_HTTP_ADDR", "must be host:port: %v", err)
	}
	if c.DataDir == "" {
		bad("OUTBOX_DATA_DIR", "must not be empty")
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("DATABASE_URL", "must be a postgres:// URL")
		}
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTPAddr
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("OUTBOX_PUBLIC_URL", "must be an absolute http(s) URL")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.PlatformFrom == "" || !strings.Contains(c.PlatformFrom, "@") {
		bad("OUTBOX_PLATFORM_FROM", "must be an email address")
	}
	if c.PlatformSMTPURL != "" {
		if _, err := ParseRelayURL(c.PlatformSMTPURL); err != nil {
			bad("OUTBOX_PLATFORM_SMTP_URL", "%v", err)
		}
	}
	if c.JWTIssuer == "" {
		bad("OUTBOX_JWT_ISSUER", "must not be empty")
	}
	if c.JWTAudience == "" {
		bad("OUTBOX_JWT_AUDIENCE", "must not be empty")
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		bad("OUTBOX_JWT_SECRET", "must be at least 32 bytes")
	}
	if c.Production() {
		if c.JWTSecret == "" && c.JWTJWKSFile == "" {
			bad("OUTBOX_JWT_SECRET", "required in production (or OUTBOX_JWT_JWKS_FILE)")
		}
		if c.SecretKey == "" {
			bad("OUTBOX_SECRET_KEY", "required in production")
		}
		if c.JWTIssuer == "outbox-dev" {
			bad("OUTBOX_JWT_ISSUER", "set the issuer of your identity provider in production")
		}
	}
	if c.ShutdownTimeout <= 0 {
		bad("OUTBOX_SHUTDOWN_TIMEOUT", "must be positive")
	}
	if c.Workers < 1 || c.Workers > 10000 {
		bad("OUTBOX_WORKERS", "must be between 1 and 10000")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("OUTBOX_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.MaxBodyBytes < 1024 {
		bad("OUTBOX_MAX_BODY_BYTES", "must be at least 1024")
	}
	if c.QueryComplexity < 5 {
		bad("OUTBOX_QUERY_COMPLEXITY", "must be at least 5")
	}
	if c.QueryDepth < 2 {
		bad("OUTBOX_QUERY_DEPTH", "must be at least 2")
	}
	if c.VerificationTTL < time.Minute {
		bad("OUTBOX_VERIFICATION_TTL", "must be at least 1m")
	}
	return errors.Join(errs...)
}

type binder struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

func (b *binder) str(p *string, name, env, def, usage string) {
	if v := b.getenv(env); v != "" {
		def = v
	}
	b.fs.StringVar(p, name, def, usage+" ("+env+")")
}

func (b *binder) duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	if v := b.getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %q is not a duration like 30s or 5m", env, v))
		} else {
			def = d
		}
	}
	b.fs.DurationVar(p, name, def, usage+" ("+env+")")
}

func (b *binder) int(p *int, name, env string, def int, usage string) {
	if v := b.getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %q is not a whole number", env, v))
		} else {
			def = n
		}
	}
	b.fs.IntVar(p, name, def, usage+" ("+env+")")
}

func (b *binder) int64(p *int64, name, env string, def int64, usage string) {
	if v := b.getenv(env); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %q is not a whole number", env, v))
		} else {
			def = n
		}
	}
	b.fs.Int64Var(p, name, def, usage+" ("+env+")")
}
