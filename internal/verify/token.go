package verify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

// tokenBytes is the size of a token's random part: 256 bits.
const tokenBytes = 32

// tokenEncoding writes tokens in the URL-safe base64 alphabet without
// padding, so a token goes into a link as is: 43 characters.
var tokenEncoding = base64.RawURLEncoding

// newToken returns a fresh token and the hash that is stored in its place.
func newToken() (token string, hash []byte) {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	token = tokenEncoding.EncodeToString(b)
	return token, hashToken(b)
}

// parseToken checks a token's shape and returns its hash. A token that is
// not 43 URL-safe base64 characters is an EINVALID error on field "token":
// most likely the link was cut when it was copied.
func parseToken(token string) ([]byte, error) {
	b, err := tokenEncoding.Strict().DecodeString(token)
	if err != nil || len(b) != tokenBytes {
		return nil, outbox.Invalid("token", "this verification link is incomplete: open the whole link from the mail, or copy all of it")
	}
	return hashToken(b), nil
}

func hashToken(raw []byte) []byte {
	sum := sha256.Sum256(raw)
	return sum[:]
}

// tokenAAD binds a sealed token to its tenant, its verification and its
// hash, so a sealed copy moved to another row does not open.
func tokenAAD(tenantID, verificationID uuid.UUID, hash []byte) []byte {
	return secret.AAD("verification-token", tenantID.String(), verificationID.String(), hex.EncodeToString(hash))
}
