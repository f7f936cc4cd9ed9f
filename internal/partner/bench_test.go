package partner

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/outbox/outbox/internal/auth"
)

// BenchmarkVerifyPartnerToken measures what a partner request costs before
// its resolver runs: the signature, the key lookup and the token id insert
// (with its share of expired-id cleanup), against the test database.
func BenchmarkVerifyPartnerToken(b *testing.B) {
	bn := setup(b)
	c, key := bn.register(b, bn.acme, "messages:send")
	v, err := auth.NewVerifier(auth.Config{Issuer: platformIssuer, Audience: "outbox",
		HS256Secret: []byte("0123456789abcdef0123456789abcdef"), Partners: bn.registry})
	if err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, b.N)
	for i := range tokens {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": c.ClientID, "aud": "outbox",
			"iat": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix(), "jti": rand.Text()})
		tok.Header["kid"] = "k1"
		if tokens[i], err = tok.SignedString(key); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := v.Verify(context.Background(), tokens[i]); err != nil {
			b.Fatal(err)
		}
	}
}
