package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

const (
	testIssuer   = "outbox-test"
	testAudience = "outbox"
)

// testNow is the clock of every test verifier, so expiry cases are exact.
var testNow = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// testKeys are generated once per test binary: RSA generation is slow,
// especially under -race.
type testKeys struct {
	rsa      *rsa.PrivateKey
	rsaOther *rsa.PrivateKey
	ec       *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
}

var sharedKeys = sync.OnceValue(func() testKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	rsaOther, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	return testKeys{rsa: rsaKey, rsaOther: rsaOther, ec: ecKey, ed: edKey}
})

// bundle is what a verifier test needs.
type bundle struct {
	keys     testKeys
	secret   []byte
	partners *fakePartners
	// verifier accepts HS256, the JWKS keys and partner tokens.
	verifier *Verifier
	// noPartners has the same platform keys but refuses partner tokens.
	noPartners *Verifier
	// jwksOnly knows only the JWKS keys (no HS256 secret).
	jwksOnly *Verifier
}

func setup(t *testing.T) bundle {
	t.Helper()
	b := bundle{
		keys:     sharedKeys(),
		secret:   []byte("0123456789abcdef0123456789abcdef"),
		partners: newFakePartners(),
	}
	jwksFile := writeJWKS(t, []jose.JSONWebKey{
		{Key: b.keys.rsa.Public(), KeyID: "rsa-1", Use: "sig"},
		{Key: b.keys.ec.Public(), KeyID: "ec-1", Algorithm: algES256},
		{Key: b.keys.ed.Public(), KeyID: "ed-1"},
	})
	cfg := Config{
		Issuer:      testIssuer,
		Audience:    testAudience,
		HS256Secret: b.secret,
		JWKSFile:    jwksFile,
		Partners:    b.partners,
		Now:         func() time.Time { return testNow },
	}
	var err error
	b.verifier, err = NewVerifier(cfg)
	require.NoError(t, err)

	cfg.Partners = nil
	b.noPartners, err = NewVerifier(cfg)
	require.NoError(t, err)

	cfg.HS256Secret = nil
	b.jwksOnly, err = NewVerifier(cfg)
	require.NoError(t, err)

	b.partners.add(PartnerKey{Tenant: "acme", ClientID: "client-rs", Kid: "k1", Algorithm: algRS256,
		PublicKey: b.keys.rsa.Public(), Scopes: []Scope{ScopeMessagesSend, ScopeLogsRead}})
	b.partners.add(PartnerKey{Tenant: "acme", ClientID: "client-es", Kid: "k1", Algorithm: algES256,
		PublicKey: b.keys.ec.Public(), Scopes: []Scope{ScopeSettingsRead}})
	b.partners.add(PartnerKey{Tenant: "globex", ClientID: "client-ed", Kid: "2026-03", Algorithm: algEdDSA,
		PublicKey: b.keys.ed.Public(), Scopes: []Scope{ScopeSettingsWrite}})
	b.partners.add(PartnerKey{Tenant: "acme", ClientID: "client-revoked", Kid: "k1", Algorithm: algRS256,
		PublicKey: b.keys.rsa.Public(), Scopes: []Scope{ScopeMessagesSend}, Revoked: true})
	return b
}

// writeJWKS writes keys as a JWKS file into a temporary directory.
func writeJWKS(t testing.TB, keys []jose.JSONWebKey) string {
	t.Helper()
	data, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// userClaims are the claims of a valid platform user token.
func userClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss":    testIssuer,
		"aud":    testAudience,
		"sub":    "user-1",
		"tenant": "acme",
		"roles":  []string{RoleAdmin},
		"iat":    testNow.Unix(),
		"exp":    testNow.Add(10 * time.Minute).Unix(),
		"jti":    rand.Text(),
	}
}

// partnerClaims are the claims of a valid partner token of clientID.
func partnerClaims(clientID string) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": clientID,
		"aud": testAudience,
		"iat": testNow.Unix(),
		"exp": testNow.Add(10 * time.Minute).Unix(),
		"jti": rand.Text(),
	}
}

// sign signs claims with method and key; header entries are added to the
// token's header (a nil value removes the entry).
func sign(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	signed, err := tok.SignedString(key)
	require.NoError(t, err)
	return signed
}

// kid is a header with just a kid.
func kid(id string) map[string]any {
	return map[string]any{"kid": id}
}

// publicPEM encodes pub as a PKIX PEM block.
func publicPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// requireRejected asserts that err refuses a token for reason.
func requireRejected(t *testing.T, err error, reason string) {
	t.Helper()
	require.Error(t, err)
	e := outbox.AsError(err)
	require.NotNil(t, e, "not an *outbox.Error: %v", err)
	require.Equal(t, outbox.EUNAUTHENTICATED, e.Code)
	require.Equal(t, reason, e.Message)
}

// fakePartners is an in-memory PartnerKeys.
type fakePartners struct {
	mu   sync.Mutex
	keys map[[2]string]PartnerKey
	seen map[[2]string]time.Time
	// broken makes every call fail as a database outage would.
	broken bool
}

func newFakePartners() *fakePartners {
	return &fakePartners{keys: map[[2]string]PartnerKey{}, seen: map[[2]string]time.Time{}}
}

func (f *fakePartners) add(k PartnerKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[[2]string{k.ClientID, k.Kid}] = k
}

var errStoreDown = errors.New("connection refused")

func (f *fakePartners) PartnerKey(_ context.Context, clientID, kid string) (PartnerKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken {
		return PartnerKey{}, errStoreDown
	}
	k, ok := f.keys[[2]string{clientID, kid}]
	if !ok {
		return PartnerKey{}, fmt.Errorf("loading partner key: %w", outbox.Errorf(outbox.ENOTFOUND, "no such partner key"))
	}
	return k, nil
}

func (f *fakePartners) RememberTokenID(_ context.Context, clientID, jti string, expiresAt time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken {
		return false, errStoreDown
	}
	id := [2]string{clientID, jti}
	if _, ok := f.seen[id]; ok {
		return false, nil
	}
	f.seen[id] = expiresAt
	return true, nil
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
}
