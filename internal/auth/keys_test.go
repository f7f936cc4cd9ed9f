package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)

	jwkOf := func(k any, edit func(*jose.JSONWebKey)) []byte {
		j := jose.JSONWebKey{Key: k, KeyID: "k1"}
		if edit != nil {
			edit(&j)
		}
		data, err := json.Marshal(j)
		require.NoError(t, err)
		return data
	}
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(keys.ec)
	require.NoError(t, err)

	tests := []struct {
		name string
		pem  string
		jwk  []byte
		// alg is the expected algorithm of an accepted key; field the
		// input field of a refused one.
		alg   string
		field string
		want  any
	}{
		{name: "PEM RSA 2048", pem: publicPEM(t, keys.rsa.Public()), alg: algRS256, want: keys.rsa.Public()},
		{name: "PEM EC P-256", pem: publicPEM(t, keys.ec.Public()), alg: algES256, want: keys.ec.Public()},
		{name: "PEM Ed25519", pem: publicPEM(t, keys.ed.Public()), alg: algEdDSA, want: keys.ed.Public()},
		{name: "PEM with surrounding whitespace", pem: "\n  " + publicPEM(t, keys.ed.Public()) + "\n\n", alg: algEdDSA, want: keys.ed.Public()},
		{name: "JWK RSA", jwk: jwkOf(keys.rsa.Public(), nil), alg: algRS256, want: keys.rsa.Public()},
		{name: "JWK RSA with alg RS256", jwk: jwkOf(keys.rsa.Public(), func(j *jose.JSONWebKey) { j.Algorithm = algRS256; j.Use = "sig" }), alg: algRS256, want: keys.rsa.Public()},
		{name: "JWK EC P-256", jwk: jwkOf(keys.ec.Public(), nil), alg: algES256, want: keys.ec.Public()},
		{name: "JWK Ed25519", jwk: jwkOf(keys.ed.Public(), nil), alg: algEdDSA, want: keys.ed.Public()},
		{name: "PEM and null JWK", pem: publicPEM(t, keys.ed.Public()), jwk: []byte("null"), alg: algEdDSA, want: keys.ed.Public()},

		{name: "neither", field: "key"},
		{name: "both", pem: publicPEM(t, keys.ed.Public()), jwk: jwkOf(keys.ed.Public(), nil), field: "key"},
		{name: "PEM garbage", pem: "hello", field: "pem"},
		{name: "PEM RSA 1024", pem: publicPEM(t, rsa1024.Public()), field: "pem"},
		{name: "PEM EC P-384", pem: publicPEM(t, p384.Public()), field: "pem"},
		{name: "PEM PKCS#8 private key", pem: pemOf("PRIVATE KEY", pkcs8), field: "pem"},
		{name: "PEM PKCS#1 private key", pem: pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(keys.rsa)), field: "pem"},
		{name: "PEM PKCS#1 public key", pem: pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&keys.rsa.PublicKey)), field: "pem"},
		{name: "PEM certificate", pem: pemOf("CERTIFICATE", []byte{1, 2, 3}), field: "pem"},
		{name: "PEM corrupt body", pem: pemOf("PUBLIC KEY", []byte{1, 2, 3}), field: "pem"},
		{name: "PEM two blocks", pem: publicPEM(t, keys.ed.Public()) + publicPEM(t, keys.ec.Public()), field: "pem"},
		{name: "JWK garbage", jwk: []byte(`{"kty":`), field: "jwk"},
		{name: "JWK without kty", jwk: []byte(`{"n":"AQAB","e":"AQAB"}`), field: "jwk"},
		{name: "JWK private RSA", jwk: jwkOf(keys.rsa, nil), field: "jwk"},
		{name: "JWK private EC", jwk: jwkOf(keys.ec, nil), field: "jwk"},
		{name: "JWK private Ed25519", jwk: jwkOf(keys.ed, nil), field: "jwk"},
		{name: "JWK symmetric", jwk: jwkOf([]byte("0123456789abcdef0123456789abcdef"), nil), field: "jwk"},
		{name: "JWK RSA 1024", jwk: jwkOf(rsa1024.Public(), nil), field: "jwk"},
		{name: "JWK EC P-384", jwk: jwkOf(p384.Public(), nil), field: "jwk"},
		{name: "JWK X25519", jwk: []byte(`{"kty":"OKP","crv":"X25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`), field: "jwk"},
		{name: "JWK alg PS256", jwk: jwkOf(keys.rsa.Public(), func(j *jose.JSONWebKey) { j.Algorithm = algPS256 }), field: "jwk"},
		{name: "JWK alg HS256", jwk: jwkOf(keys.rsa.Public(), func(j *jose.JSONWebKey) { j.Algorithm = algHS256 }), field: "jwk"},
		{name: "JWK for encryption", jwk: jwkOf(keys.ec.Public(), func(j *jose.JSONWebKey) { j.Use = "enc" }), field: "jwk"},
		{name: "JWK RSA exponent 1", jwk: []byte(`{"kty":"RSA","e":"AQ","n":"` + rsaModulus(t, keys.rsa) + `"}`), field: "jwk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pub, alg, err := ParsePublicKey(tt.pem, tt.jwk)
			if tt.field != "" {
				e := outbox.AsError(err)
				require.NotNil(t, e, "want an *outbox.Error, got %v", err)
				require.Equal(t, outbox.EINVALID, e.Code)
				require.Equal(t, tt.field, e.Field)
				require.Nil(t, pub)
				require.Empty(t, alg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.alg, alg)
			require.Equal(t, tt.want, pub)
		})
	}
}

func TestParsePublicKeyPrivateKeyMessage(t *testing.T) {
	t.Parallel()
	der, err := x509.MarshalPKCS8PrivateKey(sharedKeys().ed)
	require.NoError(t, err)
	_, _, err = ParsePublicKey(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil)
	require.ErrorContains(t, err, "generate a new key pair")
}

// rsaModulus returns the base64url modulus of key, as a JWK "n".
func rsaModulus(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	data, err := json.Marshal(jose.JSONWebKey{Key: key.Public()})
	require.NoError(t, err)
	var fields struct {
		N string `json:"n"`
	}
	require.NoError(t, json.Unmarshal(data, &fields))
	return fields.N
}

// A key ParsePublicKey accepts verifies the partner tokens it is for: the
// algorithm it returns is the one the Verifier then demands.
func TestParsePublicKeyRoundTrip(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	for _, pub := range []any{keys.rsa.Public(), keys.ec.Public(), keys.ed.Public()} {
		got, alg, err := ParsePublicKey(publicPEM(t, pub), nil)
		require.NoError(t, err)
		require.NoError(t, checkPartnerKey(PartnerKey{Tenant: "acme", ClientID: "c", Kid: "k", Algorithm: alg, PublicKey: got}, "c", "k"))
	}
}
