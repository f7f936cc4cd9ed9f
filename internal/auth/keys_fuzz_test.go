package auth

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

// FuzzParsePublicKey feeds arbitrary PEM and JWK text, as a tenant admin
// pastes it into partner registration, to ParsePublicKey. It must not
// panic, must refuse only with an EINVALID error on pem, jwk or key, and
// must accept only a public key of an allowed algorithm.
func FuzzParsePublicKey(f *testing.F) {
	keys := sharedKeys()
	jwkOf := func(key any, alg string) string {
		data, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: "k", Algorithm: alg, Use: "sig"})
		require.NoError(f, err)
		return string(data)
	}
	f.Add(publicPEM(f, keys.rsa.Public()), "")
	f.Add(publicPEM(f, keys.ec.Public()), "")
	f.Add(publicPEM(f, keys.ed.Public()), "")
	f.Add("", jwkOf(keys.rsa.Public(), "RS256"))
	f.Add("", jwkOf(keys.ec.Public(), ""))
	f.Add("", jwkOf(keys.ed.Public(), "EdDSA"))
	f.Add("", jwkOf(keys.ed, ""))
	f.Add("", `{"kty":"oct","k":"c2VjcmV0"}`)
	f.Add("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "")
	f.Add(publicPEM(f, keys.ed.Public()), "null")

	f.Fuzz(func(t *testing.T, pemText, jwk string) {
		pub, alg, err := ParsePublicKey(pemText, []byte(jwk))
		if err != nil {
			e := outbox.AsError(err)
			require.NotNil(t, e, "not an *outbox.Error: %v", err)
			require.Equal(t, outbox.EINVALID, e.Code, "%v", err)
			require.Contains(t, []string{"pem", "jwk", "key"}, e.Field, "%v", err)
			require.Nil(t, pub)
			return
		}
		require.True(t, slices.Contains(partnerAlgorithms(), alg), alg)
		got, err := publicKeyAlgorithm(pub)
		require.NoError(t, err)
		require.Equal(t, alg, got)
	})
}
