package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver pgtestdb connects with
	"github.com/peterldowns/pgtestdb"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/pgserver"
)

// EnvURL names the environment variable that points the tests at an existing
// server instead of a throwaway one. The URL's user must be allowed to create
// roles and databases.
const EnvURL = "TEST_DATABASE_URL"

// throwaway is the one temporary server of this test process. It is package
// state on purpose: sharing it across every test of the process is what makes
// a database per test cheap (starting a server takes a second, cloning a
// database milliseconds), and Main must find it to stop it.
var throwaway struct {
	mu      sync.Mutex
	main    bool // Main is running the tests and will stop the server
	started bool
	server  *pgserver.Server
	err     error
}

// Main runs the tests of a package, then stops the throwaway server if one
// was started, and exits with the tests' status (or 1 when stopping failed).
// Call it from TestMain; it does not return.
func Main(m *testing.M) {
	throwaway.mu.Lock()
	throwaway.main = true
	throwaway.mu.Unlock()

	code := m.Run()
	if err := stopThrowaway(); err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// URL returns the connection string of a new database for this test, with
// every migration applied, and drops the database when the test has passed.
// It fails the test when no server is available or migrating fails.
func URL(t testing.TB) string {
	t.Helper()
	conf, err := baseConfig()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return pgtestdb.Custom(t, conf, migrator{}).URL()
}

// Pool returns a pool connected to a new database for this test, as URL
// does, and closes it when the test ends. It fails the test when URL does or
// the URL cannot be parsed.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), URL(t))
	if err != nil {
		t.Fatalf("dbtest: opening a pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// baseConfig describes the server to create test databases on.
func baseConfig() (pgtestdb.Config, error) {
	serverURL := os.Getenv(EnvURL)
	if serverURL == "" {
		var err error
		if serverURL, err = throwawayURL(); err != nil {
			return pgtestdb.Config{}, err
		}
	}
	conf, err := configFromURL(serverURL)
	if err != nil {
		return pgtestdb.Config{}, fmt.Errorf("reading %s: %w", EnvURL, err)
	}
	return conf, nil
}

// throwawayURL starts the process's throwaway server on first use and
// returns its URL. Tests that call it meanwhile wait for the start.
func throwawayURL() (string, error) {
	throwaway.mu.Lock()
	defer throwaway.mu.Unlock()
	if !throwaway.main {
		return "", errors.New("no PostgreSQL server: set " + EnvURL + ", or make the package's TestMain call dbtest.Main(m) so a throwaway server can be started and stopped")
	}
	if !throwaway.started {
		throwaway.started = true
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		throwaway.server, throwaway.err = pgserver.StartTemporary(ctx, pgserver.Options{
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			// Parallel tests each hold a pool of their own.
			Settings: map[string]string{"max_connections": "300"},
		})
		if throwaway.err != nil {
			throwaway.err = fmt.Errorf("starting a throwaway PostgreSQL (or set %s): %w", EnvURL, throwaway.err)
		}
	}
	if throwaway.err != nil {
		return "", throwaway.err
	}
	return throwaway.server.URL(), nil
}

func stopThrowaway() error {
	throwaway.mu.Lock()
	defer throwaway.mu.Unlock()
	if throwaway.server == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := throwaway.server.Stop(ctx); err != nil {
		return fmt.Errorf("stopping the throwaway PostgreSQL: %w", err)
	}
	throwaway.server = nil
	return nil
}

// configFromURL turns a connection string (URL or keyword/value form) into
// pgtestdb's Config, whose URL method pastes the fields into a URL
// unescaped; hence the escaping here.
func configFromURL(connString string) (pgtestdb.Config, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return pgtestdb.Config{}, err
	}
	host := url.PathEscape(cfg.Host) // a socket directory's slashes too
	if strings.Contains(cfg.Host, ":") {
		host = "[" + cfg.Host + "]"
	}
	password := strings.TrimPrefix(url.UserPassword("", cfg.Password).String(), ":")
	return pgtestdb.Config{
		DriverName: "pgx",
		Host:       host,
		Port:       strconv.Itoa(int(cfg.Port)),
		User:       url.User(cfg.User).String(),
		Password:   password,
		Database:   url.PathEscape(cfg.Database),
		Options:    extraOptions(connString, cfg),
		// A test that leaks a connection (a River client left running, say)
		// must not turn into a failure to drop its database.
		ForceTerminateConnections: true,
	}, nil
}

// extraOptions keeps the query parameters of a URL (sslmode and the like)
// other than those Config holds in its own fields.
func extraOptions(connString string, cfg *pgx.ConnConfig) string {
	if !strings.HasPrefix(connString, "postgres://") && !strings.HasPrefix(connString, "postgresql://") {
		if cfg.TLSConfig == nil {
			return "sslmode=disable"
		}
		return ""
	}
	u, err := url.Parse(connString)
	if err != nil {
		return "" // pgx accepted it; libpq-style URLs need not parse as RFC 3986
	}
	q := u.Query()
	for _, k := range []string{"host", "hostaddr", "port", "user", "password", "dbname", "database"} {
		q.Del(k)
	}
	return q.Encode()
}

// migrator brings pgtestdb's template database up to date with the app's
// migrations.
type migrator struct{}

// Hash identifies the schema a template has: the app's migration files and
// the River modules, whose own migrations db.Migrate applies too.
func (migrator) Hash() (string, error) {
	h, err := db.MigrationsHash()
	if err != nil {
		return "", fmt.Errorf("hashing migrations: %w", err)
	}
	return h + riverVersions(), nil
}

// Migrate runs db.Migrate on the template; the *sql.DB pgtestdb opened to it
// is not needed.
func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	if err := db.Migrate(ctx, conf.URL()); err != nil {
		return fmt.Errorf("migrating the template database: %w", err)
	}
	return nil
}

// riverVersions lists the River modules built in, so that upgrading River
// retires a template migrated with the old version's migrations.
func riverVersions() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var mods []string
	for _, m := range info.Deps {
		if strings.HasPrefix(m.Path, "github.com/riverqueue/") {
			mods = append(mods, m.Path+"@"+m.Version)
		}
	}
	sort.Strings(mods)
	return "|" + strings.Join(mods, ",")
}
