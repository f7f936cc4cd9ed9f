package auth

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// fuzzSecret and fuzzEdKey are fixed so that the signed seeds in
// testdata/fuzz/FuzzVerify stay meaningful: they verify their signature
// against these keys but fail another check.
var (
	fuzzSecret = []byte("fuzz-secret-fuzz-secret-fuzz-sec")
	fuzzEdKey  = ed25519.NewKeyFromSeed([]byte("fuzz-ed25519-seed-fuzz-ed25519-s"))
)

// FuzzVerify feeds arbitrary strings to a Verifier that knows every kind of
// key. Whatever the input, Verify must not panic, must not accept it (a
// valid token cannot be produced without the keys) and must not repeat it
// in its error.
func FuzzVerify(f *testing.F) {
	partners := newFakePartners()
	partners.add(PartnerKey{Tenant: "acme", ClientID: "client-ed", Kid: "k1", Algorithm: algEdDSA,
		PublicKey: fuzzEdKey.Public(), Scopes: []Scope{ScopeMessagesSend}})
	v, err := NewVerifier(Config{
		Issuer:      testIssuer,
		Audience:    testAudience,
		HS256Secret: fuzzSecret,
		JWKSFile:    writeJWKS(f, []jose.JSONWebKey{{Key: fuzzEdKey.Public(), KeyID: "ed-1"}}),
		Partners:    partners,
		Now:         func() time.Time { return testNow },
	})
	require.NoError(f, err)

	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Verify(context.Background(), raw)
		require.Error(t, err)
		require.Equal(t, Principal{}, p)
		// Short inputs may occur in any sentence by chance.
		if len(raw) >= 16 {
			require.False(t, strings.Contains(err.Error(), raw), "error repeats the input")
		}
	})
}

// fuzzSeeds are near-misses signed with the fuzz keys: each is one check
// away from valid, so mutations explore the checks after the signature.
func fuzzSeeds(tb testing.TB) []string {
	expired := userClaims()
	expired["exp"] = testNow.Add(-time.Hour).Unix()
	unknownRole := userClaims()
	unknownRole["roles"] = []string{"owner"}
	longLived := partnerClaims("client-ed")
	longLived["exp"] = testNow.Add(2 * time.Hour).Unix()
	noJTI := partnerClaims("client-ed")
	delete(noJTI, "jti")
	wrongAud := userClaims()
	wrongAud["aud"] = "billing"
	expiredOperator := userClaims()
	delete(expiredOperator, "tenant")
	expiredOperator["roles"] = []string{RoleOperator}
	expiredOperator["exp"] = testNow.Add(-time.Hour).Unix()
	return []string{
		sign(tb, jwt.SigningMethodHS256, fuzzSecret, nil, expired),
		sign(tb, jwt.SigningMethodHS256, fuzzSecret, nil, unknownRole),
		sign(tb, jwt.SigningMethodHS256, fuzzSecret, nil, expiredOperator),
		sign(tb, jwt.SigningMethodEdDSA, fuzzEdKey, kid("ed-1"), wrongAud),
		sign(tb, jwt.SigningMethodEdDSA, fuzzEdKey, kid("k1"), longLived),
		sign(tb, jwt.SigningMethodEdDSA, fuzzEdKey, kid("k1"), noJTI),
		sign(tb, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, userClaims()),
		sign(tb, jwt.SigningMethodHS256, []byte("not-the-secret-not-the-secret-32"), nil, userClaims()),
	}
}
