package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/outbox/outbox/internal/outbox"
)

// The JWS algorithms the service accepts; any other, "none" included, is
// refused before a key is even looked up.
const (
	algHS256 = "HS256" // platform tokens, shared secret
	algRS256 = "RS256"
	algPS256 = "PS256" // platform tokens only; partners register RS256
	algES256 = "ES256"
	algEdDSA = "EdDSA"
)

// minRSABits is the smallest RSA modulus accepted (NIST SP 800-57).
const minRSABits = 2048

// ParsePublicKey checks a public key a tenant admin registers for a partner
// client and returns it with the algorithm the partner must sign with: RS256
// for RSA, ES256 for EC P-256, EdDSA for Ed25519. Exactly one of pemText (a
// PKIX "PUBLIC KEY" block) and jwk (a JSON Web Key) must be given. It returns
// an outbox.Invalid error for a missing or malformed key, a private or
// symmetric key, an RSA key under 2048 bits, another curve, or a JWK whose
// "alg" or "use" does not fit.
func ParsePublicKey(pemText string, jwk []byte) (crypto.PublicKey, string, error) {
	jwk = bytes.TrimSpace(jwk)
	hasPEM := strings.TrimSpace(pemText) != ""
	// A GraphQL JSON scalar that was left out may reach us as "null".
	hasJWK := len(jwk) > 0 && !bytes.Equal(jwk, []byte("null"))
	switch {
	case hasPEM && hasJWK:
		return nil, "", outbox.Invalid("key", "give the public key either as PEM or as JWK, not both")
	case hasPEM:
		return parsePEMKey(pemText)
	case hasJWK:
		return parseJWK(jwk)
	}
	return nil, "", outbox.Invalid("key", "a public key is required, as PEM or as JWK")
}

// parsePEMKey is ParsePublicKey for one PEM block.
func parsePEMKey(text string) (crypto.PublicKey, string, error) {
	const field = "pem"
	// Text pasted into a form often arrives indented; pem.Decode wants the
	// BEGIN line at the start of a line.
	block, rest := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil {
		return nil, "", outbox.Invalid(field, "not a PEM block; expected -----BEGIN PUBLIC KEY-----")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, "", outbox.Invalid(field, "give exactly one PEM block")
	}
	switch {
	case block.Type == "PUBLIC KEY":
	case strings.Contains(block.Type, "PRIVATE KEY"):
		return nil, "", errPrivateKey(field)
	case block.Type == "RSA PUBLIC KEY":
		return nil, "", outbox.Invalid(field, "PKCS#1 RSA keys are not accepted; give the key in PKIX form (-----BEGIN PUBLIC KEY-----)")
	case block.Type == "CERTIFICATE":
		return nil, "", outbox.Invalid(field, "a certificate is not accepted; give its public key (-----BEGIN PUBLIC KEY-----)")
	default:
		return nil, "", outbox.Invalid(field, "unexpected PEM block %q; expected PUBLIC KEY", block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, "", outbox.Invalid(field, "not a valid public key")
	}
	alg, err := publicKeyAlgorithm(pub)
	if err != nil {
		return nil, "", outbox.Invalid(field, "%s", err)
	}
	return pub, alg, nil
}

// parseJWK is ParsePublicKey for a JSON Web Key.
func parseJWK(data []byte) (crypto.PublicKey, string, error) {
	const field = "jwk"
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(data); err != nil {
		if errors.Is(err, jose.ErrUnsupportedKeyType) {
			return nil, "", outbox.Invalid(field, "unsupported key type; use RSA, EC P-256 or Ed25519")
		}
		return nil, "", outbox.Invalid(field, "not a valid JWK")
	}
	if _, symmetric := k.Key.([]byte); symmetric {
		return nil, "", outbox.Invalid(field, "symmetric keys are not accepted; give a public key")
	}
	if !k.IsPublic() {
		return nil, "", errPrivateKey(field)
	}
	if !k.Valid() {
		return nil, "", outbox.Invalid(field, "not a valid JWK")
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, "", outbox.Invalid(field, "key use must be \"sig\"")
	}
	alg, err := publicKeyAlgorithm(k.Key)
	if err != nil {
		return nil, "", outbox.Invalid(field, "%s", err)
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		return nil, "", outbox.Invalid(field, "alg %q is not accepted for this key; it must be %s or left out", k.Algorithm, alg)
	}
	return k.Key, alg, nil
}

// errPrivateKey refuses a private key. Whoever pasted it has leaked it, so
// the message says to replace it, not only to paste the other half.
func errPrivateKey(field string) *outbox.Error {
	return outbox.Invalid(field, "this is a private key; never share it: generate a new key pair and give only its public key")
}

// publicKeyAlgorithm returns the algorithm a partner signs with using pub
// (RS256, ES256 or EdDSA), or an error saying why pub is not acceptable:
// private, too weak, or of an unsupported type or curve.
func publicKeyAlgorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < minRSABits {
			return "", fmt.Errorf("RSA keys must have at least %d bits", minRSABits)
		}
		// e = 1 makes every signature trivial; an even e is not a valid key.
		if k.E < 3 || k.E%2 == 0 {
			return "", errors.New("RSA key has an unsafe public exponent")
		}
		return algRS256, nil
	case *ecdsa.PublicKey:
		if k.Curve == nil || k.Curve.Params().Name != "P-256" {
			return "", errors.New("EC keys must use the curve P-256 (ES256)")
		}
		return algES256, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", errors.New("Ed25519 key has the wrong size")
		}
		return algEdDSA, nil
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return "", errors.New("this is a private key; give only the public key")
	}
	return "", errors.New("unsupported key type; use RSA, EC P-256 or Ed25519")
}

// jwksKey is one verification key of the platform's identity provider.
type jwksKey struct {
	kid string
	// algs are the algorithms the key may verify: its JWK "alg" when the file
	// names one, otherwise every algorithm that fits its type.
	algs []string
	pub  crypto.PublicKey
}

// loadJWKS reads the identity provider's signing keys from a JWKS file, as
// parseJWKS does.
func loadJWKS(path string) ([]jwksKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseJWKS(data)
}

// parseJWKS reads the signing keys of a JWKS document. Keys for encryption
// and key types this service does not know are skipped, as RFC 7517 §5
// asks; a private, symmetric or weak key, a duplicate kid, or a document
// without any usable key is an error, since each is a configuration mistake
// someone should see.
func parseJWKS(data []byte) ([]jwksKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing JSON: %w", err)
	}
	var keys []jwksKey
	for i, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			if errors.Is(err, jose.ErrUnsupportedKeyType) {
				continue
			}
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if !k.IsPublic() || !k.Valid() {
			return nil, fmt.Errorf("key %d (kid %q): not a public key; a JWKS file must hold only public keys", i, k.KeyID)
		}
		alg, err := publicKeyAlgorithm(k.Key)
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i, k.KeyID, err)
		}
		algs := []string{alg}
		if alg == algRS256 {
			algs = append(algs, algPS256)
		}
		if k.Algorithm != "" {
			if !slices.Contains(algs, k.Algorithm) {
				return nil, fmt.Errorf("key %d (kid %q): alg %q does not fit the key or is not allowed", i, k.KeyID, k.Algorithm)
			}
			algs = []string{k.Algorithm}
		}
		if slices.ContainsFunc(keys, func(o jwksKey) bool { return o.kid == k.KeyID }) {
			return nil, fmt.Errorf("key %d: duplicate kid %q", i, k.KeyID)
		}
		keys = append(keys, jwksKey{kid: k.KeyID, algs: algs, pub: k.Key})
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable signing key")
	}
	return keys, nil
}

// findJWKSKey picks the key a token names by kid. A token without kid is
// accepted only when the set holds exactly one key, so the choice is never
// a guess. It returns an EUNAUTHENTICATED error otherwise.
func findJWKSKey(keys []jwksKey, kid string) (jwksKey, error) {
	if kid == "" {
		if len(keys) == 1 {
			return keys[0], nil
		}
		return jwksKey{}, unauthenticated("missing kid")
	}
	for _, k := range keys {
		if k.kid == kid {
			return k, nil
		}
	}
	return jwksKey{}, unauthenticated("unknown key")
}
