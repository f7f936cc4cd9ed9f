//go:build browser

package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/dnstest"
	"github.com/outbox/outbox/internal/smtptest"
)

// TestBrowser runs the console's browser suite (console/e2e, Playwright
// driving Chromium) against the built binary, serving everything in one
// process on a fresh database, with a loopback SMTP server that wants a
// user name and password, and a loopback DNS server whose TXT records
// the suite sets by POSTing {"name", "values"} to DNS_CONTROL_URL (the
// sending domains page publishes its records there). scripts/test-browser runs it; CHROMIUM names
// the browser (default /usr/bin/chromium), BROWSER_SUITE one file of the
// suite (default all of console/e2e).
func TestBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no Chromium at %s: run scripts/install-deps (Debian's chromium) or set CHROMIUM", chromium)
	}
	consoleDir, err := filepath.Abs("../console")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(consoleDir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("console/node_modules is missing: run scripts/install-deps (npm ci in console/)")
	}

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	smtp := smtptest.Start(t, smtptest.Options{Username: "shop@example.com", Password: "right-password", Mechanisms: []string{"PLAIN", "LOGIN"}})
	dns := dnstest.New(t)
	dnsControl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec struct {
			Name   string   `json:"name"`
			Values []string `json:"values"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&rec) != nil || rec.Name == "" {
			http.Error(w, `POST {"name": "…", "values": ["…"]}`, http.StatusBadRequest)
			return
		}
		dns.SetTXT(rec.Name, rec.Values...)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(dnsControl.Close)
	bin, err := binary()
	require.NoError(t, err)
	addr := freeAddr(t)
	url := "http://" + addr
	p := start(t, bin, "all", map[string]string{
		"DATABASE_URL":      dbtest.URL(t),
		"OUTBOX_JWT_SECRET": jwtSecret,
		"OUTBOX_SECRET_KEY": "k1:" + base64.StdEncoding.EncodeToString(key),
		"OUTBOX_HTTP_ADDR":  addr,
		"OUTBOX_DATA_DIR":   t.TempDir(),
		"OUTBOX_DNS_SERVER": dns.Addr(),
	}, nil)
	require.NoError(t, p.WaitReady(url+"/readyz", 60*time.Second), "outbox serve did not get ready")

	// The whole suite takes about 5 minutes on a busy 2-core machine;
	// scripts/test-browser gives go test 20 minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	suite := os.Getenv("BROWSER_SUITE") // one file of console/e2e, say e2e/logs.test.mjs
	if suite == "" {
		suite = "e2e/"
	}
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", suite)
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(),
		"OUTBOX_URL="+url,
		"CHROMIUM="+chromium,
		"SMTP_PORT="+strconv.Itoa(smtp.Port()),
		"SMTP_USER=shop@example.com",
		"SMTP_PASSWORD=right-password",
		"ARTIFACTS="+artifactsDir(t),
		"DNS_CONTROL_URL="+dnsControl.URL,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser suite output:\n%s", out)
	require.NoError(t, err, "the browser suite failed")
	if suite == "e2e/" { // one file of the suite may send no test mail
		require.NotEmpty(t, smtp.Messages(), "the passing test mail reached the SMTP server")
	}
}

// artifactsDir is where the suite leaves its screenshots: $BROWSER_ARTIFACTS,
// else a temporary directory.
func artifactsDir(t *testing.T) string {
	if d := os.Getenv("BROWSER_ARTIFACTS"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		abs, err := filepath.Abs(d)
		require.NoError(t, err)
		return abs
	}
	return t.TempDir()
}
