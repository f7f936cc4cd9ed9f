package bounce

import (
	"crypto/hmac"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/secret"
)

// macPurpose keys the token MAC apart from every other digest of the
// keyring.
const macPurpose = "verp-token/v1"

// macSize is how much of the HMAC-SHA256 a token keeps: 80 bits, which no
// one guesses through a rate-limited listener, and short enough that
// "b-" and the token stay within the 64 characters of a local part.
const macSize = 10

// localPrefix starts the local part of every VERP address.
const localPrefix = "b-"

// tokenEncoding writes tokens in lower-case base32 without padding: mail
// systems keep the case of a local part, but not all of them, and base32
// survives either.
var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// VERP makes and checks the envelope senders of platform-relayed mail.
type VERP struct {
	keyring *secret.Keyring
	domain  string
}

// NewVERP returns the VERP addresses under domain, signed with keyring.
func NewVERP(keyring *secret.Keyring, domain string) *VERP {
	return &VERP{keyring: keyring, domain: strings.ToLower(domain)}
}

// Domain returns the bounce domain, lower-cased.
func (v *VERP) Domain() string { return v.domain }

// Address returns the envelope sender of message id:
// b-<token>@<bounce domain>. It fails only when the keyring cannot make
// a MAC.
func (v *VERP) Address(id uuid.UUID) (string, error) {
	sum, err := v.sum(v.keyring.CurrentKeyID(), id)
	if err != nil {
		return "", fmt.Errorf("signing bounce address: %w", err)
	}
	raw := append(id[:], sum...)
	return localPrefix + strings.ToLower(tokenEncoding.EncodeToString(raw)) + "@" + v.domain, nil
}

// Owns reports whether addr is an address of the bounce domain.
func (v *VERP) Owns(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	return at >= 0 && strings.EqualFold(strings.TrimSuffix(addr[at+1:], "."), v.domain)
}

// Parse returns the message id of a VERP address made by Address, under
// any key of the keyring. ok is false for any other address: of another
// domain, another shape, or with a MAC that does not check (forged, cut,
// or signed with a key no longer configured).
func (v *VERP) Parse(addr string) (id uuid.UUID, ok bool) {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !v.Owns(addr) {
		return uuid.Nil, false
	}
	local := addr[:at]
	if len(local) <= len(localPrefix) || !strings.EqualFold(local[:len(localPrefix)], localPrefix) {
		return uuid.Nil, false
	}
	token := strings.ToUpper(local[len(localPrefix):])
	raw, err := tokenEncoding.DecodeString(token)
	// Only the one spelling Address writes: the decoder ignores the unused
	// low bits of the last character, which would let one token be
	// written four ways.
	if err != nil || len(raw) != len(id)+macSize || tokenEncoding.EncodeToString(raw) != token {
		return uuid.Nil, false
	}
	copy(id[:], raw)
	for _, keyID := range v.keyring.KeyIDs() {
		sum, err := v.sum(keyID, id)
		if err == nil && hmac.Equal(sum, raw[len(id):]) {
			return id, true
		}
	}
	return uuid.Nil, false
}

func (v *VERP) sum(keyID string, id uuid.UUID) ([]byte, error) {
	mac, err := v.keyring.NewMAC(keyID, macPurpose)
	if err != nil {
		return nil, err
	}
	mac.Write([]byte(v.domain))
	mac.Write(id[:])
	return mac.Sum(nil)[:macSize], nil
}
