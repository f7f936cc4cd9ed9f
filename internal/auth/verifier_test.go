package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

func TestVerifyPlatformToken(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// hs256 signs a platform token with the configured secret after edit
	// changed its claims.
	hs256 := func(edit func(jwt.MapClaims)) func(*testing.T) string {
		return func(t *testing.T) string {
			c := userClaims()
			edit(c)
			return sign(t, jwt.SigningMethodHS256, b.secret, nil, c)
		}
	}
	keep := func(jwt.MapClaims) {}

	tests := []struct {
		name     string
		verifier *Verifier
		token    func(t *testing.T) string
		// reason is the expected rejection; empty means the token is valid.
		reason string
	}{
		{name: "HS256 valid", token: hs256(keep)},
		{name: "expired within leeway accepted", token: hs256(func(c jwt.MapClaims) {
			c["exp"] = testNow.Add(-30 * time.Second).Unix()
		})},
		{name: "expired beyond leeway", reason: "token expired", token: hs256(func(c jwt.MapClaims) {
			c["exp"] = testNow.Add(-2 * time.Minute).Unix()
		})},
		{name: "not valid yet", reason: "token not valid yet", token: hs256(func(c jwt.MapClaims) {
			c["nbf"] = testNow.Add(5 * time.Minute).Unix()
		})},
		{name: "issued in the future", reason: "token issued in the future", token: hs256(func(c jwt.MapClaims) {
			c["iat"] = testNow.Add(5 * time.Minute).Unix()
		})},
		{name: "wrong audience", reason: "wrong audience", token: hs256(func(c jwt.MapClaims) {
			c["aud"] = "billing"
		})},
		{name: "wrong issuer", verifier: b.noPartners, reason: "wrong issuer", token: hs256(func(c jwt.MapClaims) {
			c["iss"] = "someone-else"
		})},
		{name: "missing exp", reason: "missing exp", token: hs256(func(c jwt.MapClaims) { delete(c, "exp") })},
		{name: "missing aud", reason: "missing aud", token: hs256(func(c jwt.MapClaims) { delete(c, "aud") })},
		{name: "missing iss", reason: "missing iss", token: hs256(func(c jwt.MapClaims) { delete(c, "iss") })},
		{name: "missing sub", reason: "missing sub", token: hs256(func(c jwt.MapClaims) { delete(c, "sub") })},
		{name: "missing tenant", reason: "missing tenant", token: hs256(func(c jwt.MapClaims) { delete(c, "tenant") })},
		{name: "tenant over 200 characters", reason: "tenant longer than 200 characters", token: hs256(func(c jwt.MapClaims) {
			c["tenant"] = strings.Repeat("a", 201)
		})},
		{name: "tenant with a newline", reason: "tenant holds control characters", token: hs256(func(c jwt.MapClaims) { c["tenant"] = "acme\nshop" })},
		{name: "tenant with NUL", reason: "tenant holds control characters", token: hs256(func(c jwt.MapClaims) { c["tenant"] = "acme\x00" })},
		{name: "tenant with DEL", reason: "tenant holds control characters", token: hs256(func(c jwt.MapClaims) { c["tenant"] = "acme\x7f" })},
		{name: "unknown role", reason: `unknown role "owner"`, token: hs256(func(c jwt.MapClaims) {
			c["roles"] = []string{RoleMember, "owner"}
		})},
		{name: "roles not a list", reason: "roles must be a list of strings", token: hs256(func(c jwt.MapClaims) {
			c["roles"] = RoleAdmin
		})},
		{name: "bad signature", reason: "invalid signature", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-32"), nil, userClaims())
		}},
		{name: "alg none", reason: "algorithm not allowed", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, userClaims())
		}},
		{name: "alg missing", reason: "algorithm not allowed", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, b.secret, map[string]any{"alg": nil}, userClaims())
		}},
		{name: "HS384 not allow-listed", reason: "algorithm not allowed", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS384, b.secret, nil, userClaims())
		}},
		{
			// The attack: sign HS256 with the RSA public key, hoping the
			// verifier feeds its public key to HMAC. It gets the secret.
			name: "HS/RS confusion with secret configured", reason: "invalid signature",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(publicPEM(t, b.keys.rsa.Public())), kid("rsa-1"), userClaims())
			},
		},
		{
			name: "HS/RS confusion without secret", verifier: b.jwksOnly, reason: "algorithm not allowed",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(publicPEM(t, b.keys.rsa.Public())), kid("rsa-1"), userClaims())
			},
		},
		{name: "RS256 via JWKS", verifier: b.jwksOnly, token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("rsa-1"), userClaims())
		}},
		{name: "PS256 via JWKS", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodPS256, b.keys.rsa, kid("rsa-1"), userClaims())
		}},
		{name: "ES256 via JWKS", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, b.keys.ec, kid("ec-1"), userClaims())
		}},
		{name: "EdDSA via JWKS", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, b.keys.ed, kid("ed-1"), userClaims())
		}},
		{name: "RS256 signed by another key", reason: "invalid signature", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsaOther, kid("rsa-1"), userClaims())
		}},
		{name: "unknown kid", reason: "unknown key", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("rsa-2"), userClaims())
		}},
		{name: "no kid with several keys", reason: "missing kid", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsa, nil, userClaims())
		}},
		{name: "algorithm of another key type", reason: "algorithm does not match key", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, b.keys.ec, kid("rsa-1"), userClaims())
		}},
		{name: "RS384 not allow-listed", reason: "algorithm not allowed", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS384, b.keys.rsa, kid("rsa-1"), userClaims())
		}},
		{name: "critical header", reason: "unsupported critical header", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, b.secret, map[string]any{"crit": []string{"exp"}}, userClaims())
		}},
		{name: "kid not a string", reason: "malformed token", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, b.secret, map[string]any{"kid": 7}, userClaims())
		}},
		{name: "exp not a number", reason: "malformed token", token: hs256(func(c jwt.MapClaims) {
			c["exp"] = "tomorrow"
		})},
		{name: "empty", reason: "missing token", token: func(*testing.T) string { return "" }},
		{name: "not a JWT", reason: "malformed token", token: func(*testing.T) string { return "Bearer abc" }},
		{name: "too large", reason: "token too large", token: func(*testing.T) string {
			return strings.Repeat("a", maxTokenSize+1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := tt.verifier
			if v == nil {
				v = b.verifier
			}
			raw := tt.token(t)
			p, err := v.Verify(context.Background(), raw)
			if tt.reason != "" {
				requireRejected(t, err, tt.reason)
				require.Equal(t, Principal{}, p)
				if raw != "" {
					require.NotContains(t, err.Error(), raw)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, KindUser, p.Kind)
			require.Equal(t, "user-1", p.Subject)
			require.Equal(t, "acme", p.Tenant)
			require.Equal(t, []string{RoleAdmin}, p.Roles)
			require.NotEmpty(t, p.TokenID)
			require.Empty(t, p.ClientID)
			require.Empty(t, p.Scopes)
		})
	}
}

func TestVerifyPlatformTokenFields(t *testing.T) {
	t.Parallel()
	b := setup(t)

	c := userClaims()
	c["roles"] = []string{RoleMember}
	c["aud"] = []string{"billing", testAudience}
	raw := sign(t, jwt.SigningMethodHS256, b.secret, nil, c)

	p, err := b.verifier.Verify(context.Background(), raw)
	require.NoError(t, err)
	require.Equal(t, Principal{
		Kind:      KindUser,
		Subject:   "user-1",
		Tenant:    "acme",
		Roles:     []string{RoleMember},
		TokenID:   c["jti"].(string),
		ExpiresAt: testNow.Add(10 * time.Minute),
	}, p)
}

// TestVerifyOperatorToken: a platform token whose roles contain operator
// proves an operator, who acts for no tenant whatever the token says, holds
// only PermOperate, and is checked like every platform token otherwise.
func TestVerifyOperatorToken(t *testing.T) {
	t.Parallel()
	b := setup(t)

	operatorClaims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := userClaims()
		c["sub"] = "op-1"
		c["roles"] = []string{RoleOperator}
		delete(c, "tenant")
		edit(c)
		return c
	}
	hs256 := func(edit func(jwt.MapClaims)) func(*testing.T) string {
		return func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, b.secret, nil, operatorClaims(edit)) }
	}
	keep := func(jwt.MapClaims) {}

	tests := []struct {
		name     string
		verifier *Verifier
		token    func(t *testing.T) string
		reason   string // empty: an operator
	}{
		{name: "without tenant", token: hs256(keep)},
		{name: "tenant claim ignored", token: hs256(func(c jwt.MapClaims) { c["tenant"] = "acme" })},
		{name: "malformed tenant claim ignored", token: hs256(func(c jwt.MapClaims) { c["tenant"] = "acme\x00" })},
		{name: "other roles ignored", token: hs256(func(c jwt.MapClaims) { c["roles"] = []string{RoleAdmin, RoleOperator, RoleMember} })},
		{name: "RS256 via JWKS", verifier: b.jwksOnly, token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, b.keys.rsa, kid("rsa-1"), operatorClaims(keep))
		}},
		{name: "expired", reason: "token expired", token: hs256(func(c jwt.MapClaims) {
			c["exp"] = testNow.Add(-2 * time.Minute).Unix()
		})},
		{name: "missing exp", reason: "missing exp", token: hs256(func(c jwt.MapClaims) { delete(c, "exp") })},
		{name: "wrong audience", reason: "wrong audience", token: hs256(func(c jwt.MapClaims) { c["aud"] = "billing" })},
		{name: "wrong issuer", verifier: b.noPartners, reason: "wrong issuer", token: hs256(func(c jwt.MapClaims) { c["iss"] = "someone-else" })},
		{name: "missing sub", reason: "missing sub", token: hs256(func(c jwt.MapClaims) { delete(c, "sub") })},
		{name: "unknown role beside operator", reason: `unknown role "owner"`, token: hs256(func(c jwt.MapClaims) {
			c["roles"] = []string{RoleOperator, "owner"}
		})},
		{name: "roles not a list", reason: "missing tenant", token: hs256(func(c jwt.MapClaims) { c["roles"] = RoleOperator })},
		{name: "bad signature", reason: "invalid signature", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-32"), nil, operatorClaims(keep))
		}},
		{name: "alg none", reason: "algorithm not allowed", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, operatorClaims(keep))
		}},
		{name: "HS/RS confusion without secret", verifier: b.jwksOnly, reason: "algorithm not allowed", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte(publicPEM(t, b.keys.rsa.Public())), kid("rsa-1"), operatorClaims(keep))
		}},
		// Without the operator role, a token without tenant is refused as
		// it always was.
		{name: "admin without tenant", reason: "missing tenant", token: hs256(func(c jwt.MapClaims) { c["roles"] = []string{RoleAdmin} })},
		{name: "no roles without tenant", reason: "missing tenant", token: hs256(func(c jwt.MapClaims) { delete(c, "roles") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := tt.verifier
			if v == nil {
				v = b.verifier
			}
			p, err := v.Verify(context.Background(), tt.token(t))
			if tt.reason != "" {
				requireRejected(t, err, tt.reason)
				require.Equal(t, Principal{}, p)
				return
			}
			require.NoError(t, err)
			require.Equal(t, KindOperator, p.Kind)
			require.True(t, p.IsOperator())
			require.Equal(t, "op-1", p.Subject)
			require.Empty(t, p.Tenant)
			require.Equal(t, []string{RoleOperator}, p.Roles)
			require.NotEmpty(t, p.TokenID)
			require.Equal(t, testNow.Add(10*time.Minute), p.ExpiresAt)
			require.True(t, p.Can(PermOperate))
			for _, perm := range []Permission{PermSettingsRead, PermSettingsWrite, PermMessagesSend, PermLogsRead,
				PermTemplatesWrite, PermPartnersManage, PermAuditRead} {
				require.False(t, p.Can(perm), perm)
			}
		})
	}
}

func TestVerifyLongestTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// 200 characters are allowed, however many bytes they take.
	c := userClaims()
	c["tenant"] = strings.Repeat("ä", maxTenantLength)
	p, err := b.verifier.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, b.secret, nil, c))
	require.NoError(t, err)
	require.Equal(t, c["tenant"], p.Tenant)
}

func TestVerifyWithoutRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)

	c := userClaims()
	delete(c, "roles")
	p, err := b.verifier.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, b.secret, nil, c))
	require.NoError(t, err)
	require.Empty(t, p.Roles)
	require.False(t, p.Can(PermSettingsRead))
}

func TestVerifySingleJWKSKeyWithoutKid(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	v, err := NewVerifier(Config{
		Issuer:   testIssuer,
		Audience: testAudience,
		JWKSFile: writeJWKS(t, []jose.JSONWebKey{{Key: keys.ed.Public()}}),
		Now:      func() time.Time { return testNow },
	})
	require.NoError(t, err)

	p, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodEdDSA, keys.ed, nil, userClaims()))
	require.NoError(t, err)
	require.Equal(t, "acme", p.Tenant)

	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodEdDSA, keys.ed, kid("other"), userClaims()))
	requireRejected(t, err, "unknown key")
}

func TestNewVerifierRefusesConfig(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	secret := []byte("0123456789abcdef0123456789abcdef")
	_, weakEd, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name string
		cfg  func(t *testing.T) Config
		want string
	}{
		{"no issuer", func(*testing.T) Config {
			return Config{Audience: testAudience, HS256Secret: secret}
		}, "issuer is required"},
		{"no audience", func(*testing.T) Config {
			return Config{Issuer: testIssuer, HS256Secret: secret}
		}, "audience is required"},
		{"no key", func(*testing.T) Config {
			return Config{Issuer: testIssuer, Audience: testAudience}
		}, "HS256 secret or a JWKS file is required"},
		{"short secret", func(*testing.T) Config {
			return Config{Issuer: testIssuer, Audience: testAudience, HS256Secret: []byte("short")}
		}, "at least 32 bytes"},
		{"negative leeway", func(*testing.T) Config {
			return Config{Issuer: testIssuer, Audience: testAudience, HS256Secret: secret, Leeway: -time.Second}
		}, "leeway must not be negative"},
		{"missing JWKS file", func(t *testing.T) Config {
			return Config{Issuer: testIssuer, Audience: testAudience, JWKSFile: t.TempDir() + "/none.json"}
		}, "no such file"},
		{"private key in JWKS", func(t *testing.T) Config {
			return Config{Issuer: testIssuer, Audience: testAudience,
				JWKSFile: writeJWKS(t, []jose.JSONWebKey{{Key: weakEd, KeyID: "k"}})}
		}, "not a public key"},
		{"symmetric key in JWKS", func(t *testing.T) Config {
			return Config{Issuer: testIssuer, Audience: testAudience,
				JWKSFile: writeJWKS(t, []jose.JSONWebKey{{Key: secret, KeyID: "k"}})}
		}, "not a public key"},
		{"alg that does not fit the key", func(t *testing.T) Config {
			return Config{Issuer: testIssuer, Audience: testAudience,
				JWKSFile: writeJWKS(t, []jose.JSONWebKey{{Key: keys.rsa.Public(), KeyID: "k", Algorithm: algES256}})}
		}, `alg "ES256" does not fit`},
		{"duplicate kid", func(t *testing.T) Config {
			return Config{Issuer: testIssuer, Audience: testAudience, JWKSFile: writeJWKS(t, []jose.JSONWebKey{
				{Key: keys.rsa.Public(), KeyID: "k"}, {Key: keys.ec.Public(), KeyID: "k"},
			})}
		}, `duplicate kid "k"`},
		{"only encryption keys", func(t *testing.T) Config {
			return Config{Issuer: testIssuer, Audience: testAudience,
				JWKSFile: writeJWKS(t, []jose.JSONWebKey{{Key: keys.rsa.Public(), KeyID: "k", Use: "enc"}})}
		}, "no usable signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := NewVerifier(tt.cfg(t))
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, v)
		})
	}
}

func TestNewVerifierSkipsUnknownJWKSKeys(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	// An X25519 key is for key agreement; RFC 7517 §5 says to skip it.
	x := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	path := writeJWKS(t, []jose.JSONWebKey{{Key: keys.ed.Public(), KeyID: "ed-1"}})
	data := `{"keys":[{"kty":"OKP","crv":"X25519","x":"` + x + `","kid":"x"},` +
		strings.TrimPrefix(readFile(t, path), `{"keys":[`)
	writeFile(t, path, data)

	v, err := NewVerifier(Config{Issuer: testIssuer, Audience: testAudience, JWKSFile: path,
		Now: func() time.Time { return testNow }})
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodEdDSA, keys.ed, kid("ed-1"), userClaims()))
	require.NoError(t, err)
}
