package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// KeySize is the size of every key in bytes: AES-256.
const KeySize = 32

const (
	nonceSize   = 12 // the standard GCM nonce
	maxKeyIDLen = 64
)

// Errors returned by Keyring.Open, to be matched with errors.Is.
var (
	// ErrUnknownKey means the secret was sealed with a key the keyring does
	// not hold, typically one removed from the configuration too early.
	ErrUnknownKey = errors.New("secret: sealed with a key that is not configured")
	// ErrCannotOpen means authentication failed: the data was changed, or it
	// is opened with other AAD than it was sealed with (another owner or
	// purpose), or it is too short to be sealed data at all.
	ErrCannotOpen = errors.New("secret: cannot open: data is corrupted or belongs to another owner")
)

// Sealed is an encrypted secret as stored: the id of the key that sealed it
// and Data, the 12-byte random nonce followed by the AES-GCM ciphertext and
// its tag.
type Sealed struct {
	KeyID string
	Data  []byte
}

// Keyring holds the keys secrets are sealed with. It seals with its current
// key and opens with whichever key a Sealed names. It is immutable and safe
// for concurrent use; its printed form names the key ids only.
type Keyring struct {
	current string
	ids     []string // current first, then the others in sorted order
	aeads   map[string]cipher.AEAD
	// macKeys are derived from the keys (see NewMAC); pointers, so that
	// printing a Keyring value shows addresses, not key bytes.
	macKeys map[string]*[KeySize]byte
}

// macLabel is the HKDF info that derives a key's MAC key, so that the MAC
// key is independent of the encryption key it comes from.
const macLabel = "outbox-secret/mac/v1"

// NewKeyring returns a keyring that seals with the key named current and
// opens with any of keys. Every key must be exactly KeySize bytes, and key ids
// are 1 to 64 characters of letters, digits, '.', '_' and '-'. The keyring
// does not keep the caller's slices. The error never contains key material.
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: no keys configured")
	}
	if _, ok := keys[current]; !ok {
		return nil, errors.New("secret: the current key id is not among the configured keys")
	}
	k := &Keyring{current: current, aeads: make(map[string]cipher.AEAD, len(keys)), macKeys: make(map[string]*[KeySize]byte, len(keys))}
	for id, key := range keys {
		if err := checkKeyID(id); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("secret: key %q is %d bytes; AES-256 needs exactly %d", id, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("secret: creating cipher for key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: creating GCM for key %q: %w", id, err)
		}
		k.aeads[id] = aead
		macKey, err := hkdf.Key(sha256.New, key, nil, macLabel, KeySize)
		if err != nil {
			return nil, fmt.Errorf("secret: deriving MAC key for key %q: %w", id, err)
		}
		k.macKeys[id] = (*[KeySize]byte)(macKey)
		if id != current {
			k.ids = append(k.ids, id)
		}
	}
	slices.Sort(k.ids)
	k.ids = slices.Insert(k.ids, 0, current)
	return k, nil
}

// ParseKeyring builds a keyring from a configuration string such as
// "k2:BASE64,k1:BASE64": comma-separated entries of a key id, a colon and the
// 32-byte key in base64 (standard or URL alphabet, padded or not). The first
// entry is the current key; the others only open what they sealed earlier.
// Errors name the entry and key id at fault, never the key material.
func ParseKeyring(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("secret: key spec is empty; write it as ID:BASE64[,ID:BASE64...], current key first")
	}
	keys := make(map[string][]byte)
	var current string
	for i, entry := range strings.Split(spec, ",") {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("secret: key spec entry %d is empty", n)
		}
		id, encoded, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("secret: key spec entry %d has no key id; write each key as ID:BASE64", n)
		}
		id = strings.TrimSpace(id)
		if err := checkKeyID(id); err != nil {
			return nil, fmt.Errorf("secret: key spec entry %d: %w", n, err)
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("secret: key spec entry %d: key id %q appears twice", n, id)
		}
		key, ok := decodeKey(strings.TrimSpace(encoded))
		if !ok {
			return nil, fmt.Errorf("secret: key spec entry %d: key %q is not valid base64", n, id)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("secret: key spec entry %d: key %q is %d bytes; AES-256 needs exactly %d (for example: openssl rand -base64 32)", n, id, len(key), KeySize)
		}
		keys[id] = key
		if current == "" {
			current = id
		}
	}
	k, err := NewKeyring(current, keys)
	for _, key := range keys {
		clear(key) // the ciphers hold their own expanded copies
	}
	return k, err
}

// decodeKey decodes base64 in any of the common alphabets and paddings.
func decodeKey(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// checkKeyID rejects key ids that could not be written in a key spec or that
// would be awkward in a database column and a log line. The error does not
// repeat the id: a spec written the wrong way round ("BASE64:id") would put
// the key where the id belongs.
func checkKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("a key id must be 1 to %d characters", maxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return errors.New("a key id may use only letters, digits, '.', '_' and '-'")
		}
	}
	return nil
}

// GenerateKeySpec returns a key spec entry "id:BASE64" holding a fresh random
// key, for development defaults and for operators adding a key. It fails only
// for an invalid id.
func GenerateKeySpec(id string) (string, error) {
	if err := checkKeyID(id); err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("secret: generating key: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// CurrentKeyID returns the id of the key new secrets are sealed with.
func (k *Keyring) CurrentKeyID() string { return k.current }

// KeyIDs returns the ids of every key of the keyring, current first: the
// keys a digest too short to carry its key id is checked against.
func (k *Keyring) KeyIDs() []string { return append([]string(nil), k.ids...) }

// NeedsReseal reports whether s was sealed with a key other than the current
// one, so that a rotation job can open it and seal it again.
func (k *Keyring) NeedsReseal(s Sealed) bool { return s.KeyID != k.current }

// Seal encrypts plaintext with the current key under a fresh random nonce,
// binding it to aad (see AAD): Open succeeds only with the same aad. It fails
// only if the system's random source fails.
func (k *Keyring) Seal(plaintext, aad []byte) (Sealed, error) {
	aead := k.aeads[k.current]
	data := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(data); err != nil {
		return Sealed{}, fmt.Errorf("secret: generating nonce: %w", err)
	}
	data = aead.Seal(data, data[:nonceSize], plaintext, aad)
	return Sealed{KeyID: k.current, Data: data}, nil
}

// Open decrypts s with the key it names and the aad it was sealed with. It
// returns an error wrapping ErrUnknownKey when the keyring lacks that key, and
// ErrCannotOpen when the data was altered, is bound to other aad, or is too
// short.
func (k *Keyring) Open(s Sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[s.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w (key id %q)", ErrUnknownKey, s.KeyID)
	}
	if len(s.Data) < nonceSize+aead.Overhead() {
		return nil, ErrCannotOpen
	}
	plaintext, err := aead.Open(nil, s.Data[:nonceSize], s.Data[nonceSize:], aad)
	if err != nil {
		return nil, ErrCannotOpen
	}
	return plaintext, nil
}

// NewMAC returns an HMAC-SHA256 keyed with a key derived (HKDF-SHA256) from
// the key named keyID, already fed with purpose, so that digests made for
// different purposes never compare equal. Use CurrentKeyID for new digests
// and keep the id with them, so that they still verify after a rotation. It
// returns an error wrapping ErrUnknownKey when the keyring lacks that key.
func (k *Keyring) NewMAC(keyID, purpose string) (hash.Hash, error) {
	key, ok := k.macKeys[keyID]
	if !ok {
		return nil, fmt.Errorf("%w (key id %q)", ErrUnknownKey, keyID)
	}
	h := hmac.New(sha256.New, key[:])
	h.Write(AAD(purpose))
	return h, nil
}

// String describes the keyring by its key ids, current first; it never
// reveals key material.
func (k *Keyring) String() string {
	if k == nil {
		return "secret.Keyring(nil)"
	}
	return fmt.Sprintf("secret.Keyring{current: %q, keys: %q}", k.current, k.ids)
}

// GoString is String, so that %#v cannot print the ciphers' key schedules.
func (k *Keyring) GoString() string { return k.String() }

// AAD encodes the parts that name a secret's owner and purpose, such as
// AAD("tenant", tenantID, "smtp.password"), into additional authenticated
// data. Each part is length-prefixed, so ("ab", "c") and ("a", "bc") differ.
func AAD(parts ...string) []byte {
	b := []byte("outbox-secret-aad/v1")
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}
