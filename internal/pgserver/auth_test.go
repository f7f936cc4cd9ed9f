//go:build unix

package pgserver

import (
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// requireOnlyPasswordAdmits checks that s's TCP port admits the URL's
// password and nothing else: no password, a wrong one, another user.
func requireOnlyPasswordAdmits(t *testing.T, s *Server) {
	t.Helper()
	ctx := testContext(t)
	good, err := url.Parse(s.URL())
	require.NoError(t, err)
	password, ok := good.User.Password()
	require.True(t, ok, "the URL carries the password")
	require.GreaterOrEqual(t, len(password), 32)

	for name, user := range map[string]*url.Userinfo{
		"no password":    url.User("postgres"),
		"wrong password": url.UserPassword("postgres", password[1:]),
		"another user":   url.User("nobody"),
	} {
		bad := *good
		bad.User = user
		conn, err := pgx.Connect(ctx, bad.String())
		if err == nil {
			conn.Close(ctx)
		}
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "%s: want an authentication error, got %v", name, err)
		require.Equal(t, "28P01", pgErr.Code, "%s: %v", name, err) // invalid_password
	}
	require.NoError(t, connect(t, s.URL()).Ping(ctx))
}

func TestStartRequiresPasswordOnTCP(t *testing.T) {
	t.Parallel()
	opts := Options{DataDir: newDataDir(t)}
	s := start(t, opts)
	requireOnlyPasswordAdmits(t, s)

	fi, err := os.Stat(passwordFile(s.DataDir()))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.NoError(t, s.Stop(testContext(t)))

	first := s.password
	s = start(t, opts)
	require.Equal(t, first, s.password, "the password is kept across restarts")
	requireOnlyPasswordAdmits(t, s)
}

func TestStartUpgradesTrustDataDir(t *testing.T) {
	t.Parallel()
	dataDir := newDataDir(t)

	// A data directory as earlier versions made it: trust for everyone on
	// loopback, no password.
	acct, err := currentAccount()
	require.NoError(t, err)
	binDir, err := defaultLocator().find("", "", testLogger(t))
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(dataDir, 0o700))
	require.NoError(t, acct.own(dataDir))
	cmd := exec.Command(filepath.Join(binDir, "initdb"), "-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync")
	cmd.Env = cleanEnv()
	acct.prepare(cmd)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	s := start(t, Options{DataDir: dataDir})
	requireOnlyPasswordAdmits(t, s)
}
