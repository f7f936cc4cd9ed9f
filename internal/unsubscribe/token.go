package unsubscribe

import (
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

// tokenVersion is the first byte of every token of this format.
const tokenVersion = 1

// macPurpose keys the token MAC apart from every other digest of the
// keyring.
const macPurpose = "unsubscribe-token/v1"

// macSize is the size of a token's MAC: all of HMAC-SHA256.
const macSize = 32

// MaxTokenLen is the longest token Parse looks at, in characters: a
// version, a key id of 64, a tenant id, a scope and an address of 254
// bytes, with the MAC, in base64.
const MaxTokenLen = 512

// tokenEncoding writes tokens in the URL-safe base64 alphabet without
// padding, so a token goes into a link as is.
var tokenEncoding = base64.RawURLEncoding

// Claims are what a token says: unsubscribe Email of tenant TenantID from
// the mail of Scope.
type Claims struct {
	TenantID uuid.UUID
	// Email is the address, lower-cased.
	Email string
	Scope outbox.SuppressionScope
}

// scopeBytes are the scopes a token of this version can name: SUBSCRIPTION
// only, so far (a token never stops TRANSACTIONAL mail).
var scopeBytes = map[outbox.SuppressionScope]byte{outbox.ScopeSubscription: 'S'}

// Sign returns the token of c, signed with the keyring's current key. It
// fails only when the keyring cannot make a MAC.
func Sign(k *secret.Keyring, c Claims) (string, error) {
	keyID := k.CurrentKeyID()
	sb, ok := scopeBytes[c.Scope]
	if !ok {
		return "", fmt.Errorf("signing unsubscribe token: unknown scope %q", c.Scope)
	}
	body := make([]byte, 0, 2+len(keyID)+16+1+len(c.Email)+macSize)
	body = append(body, tokenVersion, byte(len(keyID)))
	body = append(body, keyID...)
	body = append(body, c.TenantID[:]...)
	body = append(body, sb)
	body = append(body, strings.ToLower(c.Email)...)
	mac, err := k.NewMAC(keyID, macPurpose)
	if err != nil {
		return "", fmt.Errorf("signing unsubscribe token: %w", err)
	}
	mac.Write(body)
	return tokenEncoding.EncodeToString(mac.Sum(body)), nil
}

// Parse checks token's shape, version and MAC (in constant time) and
// returns its claims. Any fault — a cut or altered token, one signed with
// a key the keyring no longer has — is one EINVALID error on "token" that
// says the link does not work, and tells an attacker nothing more.
func Parse(k *secret.Keyring, token string) (Claims, error) {
	bad := outbox.Invalid("token", "this unsubscribe link does not work: open the whole link from the mail, or copy all of it")
	if len(token) > MaxTokenLen {
		return Claims{}, bad
	}
	raw, err := tokenEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) < 2+16+1+macSize || raw[0] != tokenVersion {
		return Claims{}, bad
	}
	body, sum := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	n := int(raw[1])
	if len(body) < 2+n+16+1+1 {
		return Claims{}, bad
	}
	mac, err := k.NewMAC(string(body[2:2+n]), macPurpose)
	if err != nil {
		return Claims{}, bad
	}
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sum) {
		return Claims{}, bad
	}
	rest := body[2+n:]
	c := Claims{Email: string(rest[17:])}
	copy(c.TenantID[:], rest[:16])
	for scope, b := range scopeBytes {
		if rest[16] == b {
			c.Scope = scope
		}
	}
	if c.Scope == "" {
		return Claims{}, bad
	}
	return c, nil
}
