package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/e2etest"
	"github.com/outbox/outbox/internal/gqlclient"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// binary builds ./cmd/outbox once per test process.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "outbox-e2e-")
	if err != nil {
		return "", err
	}
	return e2etest.Build(context.Background(), "..", dir)
})

// cluster is one database with an API process and a worker process.
type cluster struct {
	api, worker *e2etest.Process
	url         string // http://host:port of the API
	gql         *gqlclient.Client
	env         map[string]string
}

const jwtSecret = "e2e-secret-e2e-secret-e2e-secret-0123"

// startCluster starts `outbox serve --role api` and `--role worker` on a
// fresh database with env added, and waits until the API is ready.
func startCluster(t *testing.T, env map[string]string) *cluster {
	t.Helper()
	bin, err := binary()
	require.NoError(t, err)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	base := map[string]string{
		"DATABASE_URL":      dbtest.URL(t),
		"OUTBOX_JWT_SECRET": jwtSecret,
		"OUTBOX_SECRET_KEY": "k1:" + base64.StdEncoding.EncodeToString(key),
		"OUTBOX_LOG_LEVEL":  "debug",
	}
	for k, v := range env {
		base[k] = v
	}
	c := &cluster{env: base}
	apiAddr := freeAddr(t)
	c.url = "http://" + apiAddr
	c.gql = gqlclient.NewClient(c.url + "/graphql")
	c.api = start(t, bin, "api", base, map[string]string{"OUTBOX_HTTP_ADDR": apiAddr, "OUTBOX_DATA_DIR": t.TempDir()})
	c.worker = start(t, bin, "worker", base, map[string]string{"OUTBOX_HTTP_ADDR": freeAddr(t), "OUTBOX_DATA_DIR": t.TempDir()})
	require.NoError(t, c.api.WaitReady(c.url+"/readyz", 60*time.Second), "the API process did not get ready")
	return c
}

// start runs `outbox serve --role role` with env and extra, stopped (or
// killed after 20 s) when the test ends; its output is logged when the
// test failed.
func start(t *testing.T, bin, role string, env, extra map[string]string) *e2etest.Process {
	t.Helper()
	all := map[string]string{}
	for _, m := range []map[string]string{env, extra} {
		for k, v := range m {
			all[k] = v
		}
	}
	p, err := e2etest.Start(bin, []string{"serve", "--role", role}, all)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = p.Stop(20 * time.Second)
		if t.Failed() {
			t.Logf("--- %s process output:\n%s", role, p.Output())
		}
	})
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := e2etest.FreeAddr()
	require.NoError(t, err)
	return addr
}

// token mints a platform user token for tenant.
func token(t *testing.T, tenant string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint(auth.MintConfig{
		Issuer: "outbox-dev", Audience: "outbox", HS256Secret: []byte(jwtSecret), Subject: "user-" + tenant, Tenant: tenant, Roles: roles,
	})
	require.NoError(t, err)
	return tok
}

// do posts one GraphQL operation to the API and decodes its data into v,
// failing on errors.
func (c *cluster) do(t *testing.T, token, query string, vars map[string]any, v any) {
	t.Helper()
	c.gql.MustPost(t, gqlclient.Request{Query: query, Variables: vars, Token: token}).MustDecode(t, v)
}

func (c *cluster) wsURL() string { return "ws" + c.url[len("http"):] + "/graphql" }

func withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
