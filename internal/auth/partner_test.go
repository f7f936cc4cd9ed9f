package auth

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func TestVerifyPartnerToken(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// rs256 signs a token of client-rs with its registered key after edit
	// changed its claims.
	rs256 := func(edit func(jwt.MapClaims)) func(*testing.T) string {
		return func(t *testing.T) string {
			c := partnerClaims("client-rs")
			edit(c)
			return sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("k1"), c)
		}
	}
	keep := func(jwt.MapClaims) {}

	tests := []struct {
		name   string
		token  func(t *testing.T) string
		reason string
		// want is checked for valid tokens.
		want Principal
	}{
		{
			name:  "RS256 valid",
			token: rs256(keep),
			want: Principal{Kind: KindPartner, Subject: "client-rs", ClientID: "client-rs", KeyID: "k1", Tenant: "acme",
				Scopes: []Scope{ScopeMessagesSend, ScopeLogsRead}},
		},
		{
			name: "ES256 valid",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodES256, b.keys.ec, kid("k1"), partnerClaims("client-es"))
			},
			want: Principal{Kind: KindPartner, Subject: "client-es", ClientID: "client-es", KeyID: "k1", Tenant: "acme",
				Scopes: []Scope{ScopeSettingsRead}},
		},
		{
			name: "EdDSA valid",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodEdDSA, b.keys.ed, kid("2026-03"), partnerClaims("client-ed"))
			},
			want: Principal{Kind: KindPartner, Subject: "client-ed", ClientID: "client-ed", KeyID: "2026-03", Tenant: "globex",
				Scopes: []Scope{ScopeSettingsWrite}},
		},
		{
			// The tenant is the registering tenant's, whatever the token says.
			name: "tenant claim ignored",
			token: rs256(func(c jwt.MapClaims) {
				c["tenant"] = "globex"
				c["roles"] = []string{RoleAdmin}
			}),
			want: Principal{Kind: KindPartner, Subject: "client-rs", ClientID: "client-rs", KeyID: "k1", Tenant: "acme",
				Scopes: []Scope{ScopeMessagesSend, ScopeLogsRead}},
		},
		{
			name: "lifetime of exactly 1 hour",
			token: rs256(func(c jwt.MapClaims) {
				c["iat"] = testNow.Add(-10 * time.Minute).Unix()
				c["exp"] = testNow.Add(50 * time.Minute).Unix()
			}),
			want: Principal{Kind: KindPartner, Subject: "client-rs", ClientID: "client-rs", KeyID: "k1", Tenant: "acme",
				Scopes: []Scope{ScopeMessagesSend, ScopeLogsRead}},
		},
		{name: "missing jti", reason: "missing jti", token: rs256(func(c jwt.MapClaims) { delete(c, "jti") })},
		{name: "missing iat", reason: "missing iat", token: rs256(func(c jwt.MapClaims) { delete(c, "iat") })},
		{name: "missing exp", reason: "missing exp", token: rs256(func(c jwt.MapClaims) { delete(c, "exp") })},
		{name: "missing aud", reason: "missing aud", token: rs256(func(c jwt.MapClaims) { delete(c, "aud") })},
		{name: "exp more than 1 hour after iat", reason: "token lifetime exceeds 1 hour", token: rs256(func(c jwt.MapClaims) {
			c["exp"] = testNow.Add(time.Hour + time.Second).Unix()
		})},
		{name: "expired", reason: "token expired", token: rs256(func(c jwt.MapClaims) {
			c["iat"] = testNow.Add(-time.Hour).Unix()
			c["exp"] = testNow.Add(-2 * time.Minute).Unix()
		})},
		{name: "wrong audience", reason: "wrong audience", token: rs256(func(c jwt.MapClaims) {
			c["aud"] = "billing"
		})},
		{name: "jti too long", reason: "jti too long", token: rs256(func(c jwt.MapClaims) {
			c["jti"] = string(make([]byte, maxTokenIDSize+1))
		})},
		{name: "missing kid", reason: "missing kid", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsa, nil, partnerClaims("client-rs"))
		}},
		{name: "wrong algorithm for key", reason: "algorithm does not match key", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, b.keys.ec, kid("k1"), partnerClaims("client-rs"))
		}},
		{name: "PS256 not allowed for partners", reason: "algorithm not allowed", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodPS256, b.keys.rsa, kid("k1"), partnerClaims("client-rs"))
		}},
		{name: "HS256 with the public key as secret", reason: "algorithm not allowed", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte(publicPEM(t, b.keys.rsa.Public())), kid("k1"), partnerClaims("client-rs"))
		}},
		{name: "alg none", reason: "algorithm not allowed", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid("k1"), partnerClaims("client-rs"))
		}},
		{name: "bad signature", reason: "invalid signature", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsaOther, kid("k1"), partnerClaims("client-rs"))
		}},
		{name: "revoked client", reason: "client revoked", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("k1"), partnerClaims("client-revoked"))
		}},
		{name: "unknown client", reason: "unknown client or key", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("k1"), partnerClaims("client-nobody"))
		}},
		{name: "unknown kid", reason: "unknown client or key", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("k2"), partnerClaims("client-rs"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := tt.token(t)
			p, err := b.verifier.Verify(context.Background(), raw)
			if tt.reason != "" {
				requireRejected(t, err, tt.reason)
				require.Equal(t, Principal{}, p)
				require.NotContains(t, err.Error(), raw)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, p.TokenID)
			require.False(t, p.ExpiresAt.IsZero())
			p.TokenID, p.ExpiresAt = "", time.Time{}
			require.Equal(t, tt.want, p)
		})
	}
}

func TestVerifyPartnerTokenReplayed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := partnerClaims("client-rs")
	raw := sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("k1"), c)

	p, err := b.verifier.Verify(context.Background(), raw)
	require.NoError(t, err)
	require.Equal(t, c["jti"], p.TokenID)

	_, err = b.verifier.Verify(context.Background(), raw)
	requireRejected(t, err, "token replayed")

	// The same jti in a new token is still a replay.
	again := sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("k1"), c)
	_, err = b.verifier.Verify(context.Background(), again)
	requireRejected(t, err, "token replayed")
}

func TestVerifyPartnerTokenRemembersUntilAcceptable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := partnerClaims("client-rs")

	_, err := b.verifier.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("k1"), c))
	require.NoError(t, err)

	// A token is accepted until exp + leeway, so its id must be kept as long.
	b.partners.mu.Lock()
	defer b.partners.mu.Unlock()
	require.Equal(t, testNow.Add(10*time.Minute+defaultLeeway), b.partners.seen[[2]string{"client-rs", c["jti"].(string)}].UTC())
}

func TestVerifyPartnerTokenOnlyValidTokensReachReplayStore(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := partnerClaims("client-rs")
	c["aud"] = "billing"

	_, err := b.verifier.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("k1"), c))
	requireRejected(t, err, "wrong audience")
	b.partners.mu.Lock()
	defer b.partners.mu.Unlock()
	require.Empty(t, b.partners.seen)
}

func TestVerifyPartnerStoreFailureIsInternal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.partners.broken = true

	_, err := b.verifier.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("k1"), partnerClaims("client-rs")))
	require.ErrorIs(t, err, errStoreDown)
	require.Equal(t, outbox.EINTERNAL, outbox.ErrorCode(err))
}

func TestVerifyPartnerRefusesInconsistentKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	keys := sharedKeys()

	tests := []struct {
		name string
		key  PartnerKey
	}{
		{"other client", PartnerKey{Tenant: "acme", ClientID: "client-other", Kid: "k1", Algorithm: algRS256, PublicKey: keys.rsa.Public()}},
		{"no tenant", PartnerKey{ClientID: "client-x", Kid: "k1", Algorithm: algRS256, PublicKey: keys.rsa.Public()}},
		{"algorithm of another key type", PartnerKey{Tenant: "acme", ClientID: "client-x", Kid: "k1", Algorithm: algES256, PublicKey: keys.rsa.Public()}},
		{"private key", PartnerKey{Tenant: "acme", ClientID: "client-x", Kid: "k1", Algorithm: algRS256, PublicKey: keys.rsa}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newFakePartners()
			store.keys[[2]string{"client-x", "k1"}] = tt.key
			v, err := NewVerifier(Config{Issuer: testIssuer, Audience: testAudience, HS256Secret: b.secret,
				Partners: store, Now: func() time.Time { return testNow }})
			require.NoError(t, err)

			_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, keys.rsa, kid("k1"), partnerClaims("client-x")))
			require.Error(t, err)
			require.Equal(t, outbox.EINTERNAL, outbox.ErrorCode(err))
		})
	}
}
