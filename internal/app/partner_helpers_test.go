package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// partnerClient is a partner client registered in a test, with its one key.
type partnerClient struct {
	ID, ClientID string
	Kid          string
	Key          ed25519.PrivateKey
}

const registerPartnerMutation = `mutation($input: PartnerClientInput!) {
	registerPartnerClient(input: $input) { id clientId name scopes keys { kid algorithm createdAt } createdAt revokedAt }
}`

// registerPartner registers a partner client with one fresh Ed25519 key
// (kid "k1", given as PEM) through the API, as adminToken's caller.
func (b *bundle) registerPartner(t *testing.T, adminToken string, scopes ...string) partnerClient {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var got struct {
		RegisterPartnerClient struct{ ID, ClientID string }
	}
	b.do(t, adminToken, registerPartnerMutation, map[string]any{"input": map[string]any{
		"name": "ERP", "scopes": scopes, "keys": []map[string]any{{"kid": "k1", "pem": pemOf(t, pub)}},
	}}).MustDecode(t, &got)
	return partnerClient{ID: got.RegisterPartnerClient.ID, ClientID: got.RegisterPartnerClient.ClientID, Kid: "k1", Key: key}
}

// token signs a fresh single-use token of the partner, after edit changed
// its claims (nil: none).
func (p partnerClient) token(t *testing.T, b *bundle, edit func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": p.ClientID, "aud": b.cfg.JWTAudience, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "jti": rand.Text(),
	}
	if edit != nil {
		edit(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = p.Kid
	signed, err := tok.SignedString(p.Key)
	require.NoError(t, err)
	return signed
}

func pemOf(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// expiredToken is an admin token of tenant that expired ten minutes ago.
func (b *bundle) expiredToken(t *testing.T, tenant string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": b.cfg.JWTIssuer, "aud": b.cfg.JWTAudience, "sub": "user-" + tenant, "tenant": tenant,
		"roles": []string{"admin"}, "iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-10 * time.Minute).Unix(),
	})
	signed, err := tok.SignedString([]byte(b.cfg.JWTSecret))
	require.NoError(t, err)
	return signed
}
