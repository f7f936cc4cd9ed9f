package secret

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testKey returns a random key and its standard base64 form.
func testKey(t *testing.T) ([]byte, string) {
	t.Helper()
	key := make([]byte, KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return key, base64.StdEncoding.EncodeToString(key)
}

type bundle struct {
	k1, k2       []byte
	k1b64, k2b64 string
	ring         *Keyring // k2 current, k1 old
}

func setup(t *testing.T) bundle {
	t.Helper()
	var b bundle
	b.k1, b.k1b64 = testKey(t)
	b.k2, b.k2b64 = testKey(t)
	ring, err := ParseKeyring("k2:" + b.k2b64 + ",k1:" + b.k1b64)
	require.NoError(t, err)
	b.ring = ring
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	ring := setup(t).ring
	aad := AAD("tenant", "t_123", "smtp.password")
	for _, plaintext := range [][]byte{
		[]byte("abcd efgh ijkl mnop"),
		[]byte("パスワード🔑"),
		{},
		bytes.Repeat([]byte{0, 1, 2, 0xff}, 4096),
	} {
		sealed, err := ring.Seal(plaintext, aad)
		require.NoError(t, err)
		require.Equal(t, "k2", sealed.KeyID)
		require.Len(t, sealed.Data, nonceSize+len(plaintext)+16)
		if len(plaintext) > 8 {
			require.False(t, bytes.Contains(sealed.Data, plaintext[:8]), "ciphertext must not contain the plaintext")
		}

		got, err := ring.Open(sealed, aad)
		require.NoError(t, err)
		require.Equal(t, len(plaintext), len(got))
		if len(plaintext) > 0 {
			require.Equal(t, plaintext, got)
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	t.Parallel()
	ring := setup(t).ring
	seen := map[string]bool{}
	for range 100 {
		s, err := ring.Seal([]byte("same secret"), nil)
		require.NoError(t, err)
		nonce := string(s.Data[:nonceSize])
		require.False(t, seen[nonce], "nonce repeated")
		seen[nonce] = true
	}
}

func TestOpenWithWrongAADFails(t *testing.T) {
	t.Parallel()
	ring := setup(t).ring
	sealed, err := ring.Seal([]byte("hunter2"), AAD("tenant", "acme", "smtp.password"))
	require.NoError(t, err)
	for name, aad := range map[string][]byte{
		"another tenant":  AAD("tenant", "globex", "smtp.password"),
		"another purpose": AAD("tenant", "acme", "http.authValue"),
		"shifted parts":   AAD("tenant", "acmesmtp.password"),
		"no aad":          nil,
	} {
		_, err := ring.Open(sealed, aad)
		require.ErrorIs(t, err, ErrCannotOpen, name)
	}
}

func TestAADIsUnambiguous(t *testing.T) {
	t.Parallel()
	require.NotEqual(t, AAD("ab", "c"), AAD("a", "bc"))
	require.NotEqual(t, AAD("a"), AAD("a", ""))
	require.NotEqual(t, AAD(), AAD(""))
	require.Equal(t, AAD("tenant", "1"), AAD("tenant", "1"))
}

func TestOpenTamperedDataFails(t *testing.T) {
	t.Parallel()
	ring := setup(t).ring
	aad := AAD("tenant", "acme")
	sealed, err := ring.Seal([]byte("hunter2"), aad)
	require.NoError(t, err)

	for i := range sealed.Data {
		tampered := Sealed{KeyID: sealed.KeyID, Data: bytes.Clone(sealed.Data)}
		tampered.Data[i] ^= 0x01
		_, err := ring.Open(tampered, aad)
		require.ErrorIs(t, err, ErrCannotOpen, "flipping a bit of byte %d", i)
	}
	for _, data := range [][]byte{nil, {}, sealed.Data[:nonceSize], sealed.Data[:nonceSize+15], sealed.Data[:len(sealed.Data)-1]} {
		_, err := ring.Open(Sealed{KeyID: sealed.KeyID, Data: data}, aad)
		require.ErrorIs(t, err, ErrCannotOpen, "truncated to %d bytes", len(data))
	}
	_, err = ring.Open(Sealed{KeyID: sealed.KeyID, Data: append(bytes.Clone(sealed.Data), 0)}, aad)
	require.ErrorIs(t, err, ErrCannotOpen, "extended")

	// The same data under the other key's id must not open either.
	_, err = ring.Open(Sealed{KeyID: "k1", Data: sealed.Data}, aad)
	require.ErrorIs(t, err, ErrCannotOpen)

	got, err := ring.Open(sealed, aad)
	require.NoError(t, err, "the original still opens")
	require.Equal(t, []byte("hunter2"), got)
}

func TestRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	aad := AAD("tenant", "acme", "smtp.password")

	old, err := NewKeyring("k1", map[string][]byte{"k1": b.k1})
	require.NoError(t, err)
	sealedOld, err := old.Seal([]byte("before rotation"), aad)
	require.NoError(t, err)
	require.Equal(t, "k1", sealedOld.KeyID)

	// k2 becomes current; k1 stays to open what it sealed.
	require.Equal(t, "k2", b.ring.CurrentKeyID())
	got, err := b.ring.Open(sealedOld, aad)
	require.NoError(t, err)
	require.Equal(t, []byte("before rotation"), got)
	require.True(t, b.ring.NeedsReseal(sealedOld))

	resealed, err := b.ring.Seal(got, aad)
	require.NoError(t, err)
	require.Equal(t, "k2", resealed.KeyID)
	require.False(t, b.ring.NeedsReseal(resealed))

	// The old keyring cannot open what the new key sealed.
	_, err = old.Open(resealed, aad)
	require.ErrorIs(t, err, ErrUnknownKey)

	// Once k1 is retired, its secrets can no longer be opened.
	retired, err := ParseKeyring("k2:" + b.k2b64)
	require.NoError(t, err)
	_, err = retired.Open(sealedOld, aad)
	require.ErrorIs(t, err, ErrUnknownKey)
	require.Contains(t, err.Error(), `"k1"`)
	got, err = retired.Open(resealed, aad)
	require.NoError(t, err)
	require.Equal(t, []byte("before rotation"), got)
}

func TestOpenUnknownKeyID(t *testing.T) {
	t.Parallel()
	ring := setup(t).ring
	sealed, err := ring.Seal([]byte("x"), nil)
	require.NoError(t, err)
	for _, id := range []string{"k3", "", "K2", "k2 "} {
		_, err := ring.Open(Sealed{KeyID: id, Data: sealed.Data}, nil)
		require.ErrorIs(t, err, ErrUnknownKey, "%q", id)
		require.False(t, errors.Is(err, ErrCannotOpen))
	}
}

func TestNewKeyring(t *testing.T) {
	t.Parallel()
	key, _ := testKey(t)
	tests := []struct {
		name    string
		current string
		keys    map[string][]byte
		want    string // part of the error; "" for success
	}{
		{name: "one key", current: "k1", keys: map[string][]byte{"k1": key}},
		{name: "no keys", current: "k1", keys: nil, want: "no keys"},
		{name: "current missing", current: "k9", keys: map[string][]byte{"k1": key}, want: "current key id is not among"},
		{name: "short key", current: "k1", keys: map[string][]byte{"k1": key[:16]}, want: `key "k1" is 16 bytes; AES-256 needs exactly 32`},
		{name: "long key", current: "k1", keys: map[string][]byte{"k1": append(bytes.Clone(key), 1)}, want: "33 bytes"},
		{name: "other key short", current: "k1", keys: map[string][]byte{"k1": key, "k0": key[:31]}, want: `key "k0" is 31 bytes`},
		{name: "empty id", current: "", keys: map[string][]byte{"": key}, want: "1 to 64"},
		{name: "bad id", current: "k 1", keys: map[string][]byte{"k 1": key}, want: "letters, digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ring, err := NewKeyring(tt.current, tt.keys)
			if tt.want == "" {
				require.NoError(t, err)
				require.Equal(t, tt.current, ring.CurrentKeyID())
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, ring)
		})
	}
}

func TestNewKeyringDoesNotKeepCallersKey(t *testing.T) {
	t.Parallel()
	key, _ := testKey(t)
	ring, err := NewKeyring("k1", map[string][]byte{"k1": key})
	require.NoError(t, err)
	sealed, err := ring.Seal([]byte("x"), nil)
	require.NoError(t, err)
	clear(key)
	got, err := ring.Open(sealed, nil)
	require.NoError(t, err)
	require.Equal(t, []byte("x"), got)
}

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	key, std := testKey(t)
	raw := base64.RawStdEncoding.EncodeToString(key)
	url := base64.URLEncoding.EncodeToString(key)
	short := base64.StdEncoding.EncodeToString(key[:16])

	tests := []struct {
		name    string
		spec    string
		current string
		want    string // part of the error; "" for success
	}{
		{name: "one", spec: "k1:" + std, current: "k1"},
		{name: "first is current", spec: "k2:" + std + ",k1:" + url, current: "k2"},
		{name: "spaces around", spec: "  k2 : " + std + " ,  k1:" + raw + "  ", current: "k2"},
		{name: "unpadded", spec: "main:" + raw, current: "main"},
		{name: "url alphabet", spec: "2026-01.a_b:" + url, current: "2026-01.a_b"},

		{name: "empty", spec: "  ", want: "key spec is empty"},
		{name: "no id", spec: std, want: "entry 1 has no key id"},
		{name: "second has no id", spec: "k1:" + std + "," + std, want: "entry 2 has no key id"},
		{name: "empty entry", spec: "k1:" + std + ",", want: "entry 2 is empty"},
		{name: "empty id", spec: ":" + std, want: "entry 1: a key id must be"},
		{name: "id the wrong way round", spec: std + ":k1", want: "entry 1: a key id may use only"},
		{name: "duplicate id", spec: "k1:" + std + ",k1:" + raw, want: `key id "k1" appears twice`},
		{name: "bad base64", spec: "k1:not*base64!", want: `key "k1" is not valid base64`},
		{name: "empty key", spec: "k1:", want: `key "k1" is 0 bytes`},
		{name: "short key", spec: "k1:" + short, want: `key "k1" is 16 bytes; AES-256 needs exactly 32`},
		{name: "hex instead of base64", spec: "k1:" + fmt.Sprintf("%x", key), want: `key "k1" is 48 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ring, err := ParseKeyring(tt.spec)
			if tt.want == "" {
				require.NoError(t, err)
				require.Equal(t, tt.current, ring.CurrentKeyID())
				sealed, err := ring.Seal([]byte("x"), nil)
				require.NoError(t, err)
				got, err := ring.Open(sealed, nil)
				require.NoError(t, err)
				require.Equal(t, []byte("x"), got)
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, ring)
			requireNoKeyMaterial(t, err.Error(), key)
		})
	}
}

func TestParseKeyringKeysInteroperate(t *testing.T) {
	t.Parallel()
	key, std := testKey(t)
	a, err := ParseKeyring("k1:" + std)
	require.NoError(t, err)
	b, err := NewKeyring("k1", map[string][]byte{"k1": key})
	require.NoError(t, err)
	sealed, err := a.Seal([]byte("shared"), AAD("x"))
	require.NoError(t, err)
	got, err := b.Open(sealed, AAD("x"))
	require.NoError(t, err)
	require.Equal(t, []byte("shared"), got)
}

func TestKeyringPrintsNoKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Equal(t, `secret.Keyring{current: "k2", keys: ["k2" "k1"]}`, b.ring.String())
	wrapper := struct{ Ring *Keyring }{b.ring}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		for _, v := range []any{b.ring, wrapper, *b.ring} {
			out := fmt.Sprintf(format, v)
			requireNoKeyMaterial(t, out, b.k1)
			requireNoKeyMaterial(t, out, b.k2)
		}
	}
	require.Equal(t, "secret.Keyring(nil)", (*Keyring)(nil).String())
}

// requireNoKeyMaterial asserts that s shows key in no usual encoding, nor any
// 8-byte piece of it.
func requireNoKeyMaterial(t *testing.T, s string, key []byte) {
	t.Helper()
	lower := strings.ToLower(s)
	for i := 0; i+8 <= len(key); i += 4 {
		part := key[i : i+8]
		for _, enc := range []string{
			string(part),
			fmt.Sprintf("%x", part),
			base64.StdEncoding.EncodeToString(part)[:8],
		} {
			require.NotContains(t, s, enc)
			require.NotContains(t, lower, strings.ToLower(enc))
		}
	}
	for _, enc := range []string{
		base64.StdEncoding.EncodeToString(key)[:16],
		base64.URLEncoding.EncodeToString(key)[:16],
		fmt.Sprintf("%v", key[:8])[1:20],
	} {
		require.NotContains(t, s, enc)
	}
}

func TestGenerateKeySpec(t *testing.T) {
	t.Parallel()
	a, err := GenerateKeySpec("dev")
	require.NoError(t, err)
	b, err := GenerateKeySpec("dev")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	ring, err := ParseKeyring(a)
	require.NoError(t, err)
	require.Equal(t, "dev", ring.CurrentKeyID())

	_, err = GenerateKeySpec("bad:id")
	require.Error(t, err)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ring := setup(t).ring
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			aad := AAD("tenant", fmt.Sprint(g))
			for i := range 50 {
				msg := []byte(fmt.Sprintf("secret %d/%d", g, i))
				s, err := ring.Seal(msg, aad)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := ring.Open(s, aad)
				if err != nil || !bytes.Equal(got, msg) {
					t.Errorf("round trip %d/%d: %q, %v", g, i, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// macKeyFor is the MAC key derivation spelled out independently of the
// keyring: HKDF-SHA256 of the key with the fixed label.
func macKeyFor(t *testing.T, key []byte) []byte {
	t.Helper()
	k, err := hkdf.Key(sha256.New, key, nil, "outbox-secret/mac/v1", KeySize)
	require.NoError(t, err)
	return k
}

func TestMACIsKeyBound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sum := func(ring *Keyring, keyID, purpose, msg string) []byte {
		h, err := ring.NewMAC(keyID, purpose)
		require.NoError(t, err)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	got := sum(b.ring, "k2", "fingerprint", "hello")

	want := hmac.New(sha256.New, macKeyFor(t, b.k2))
	want.Write(AAD("fingerprint"))
	want.Write([]byte("hello"))
	require.Equal(t, want.Sum(nil), got, "HMAC-SHA256 under the key derived from k2, purpose first")

	plain := sha256.Sum256([]byte("hello"))
	require.NotEqual(t, plain[:], got, "not a plain digest")
	require.NotEqual(t, got, sum(b.ring, "k1", "fingerprint", "hello"), "another key, another MAC")
	require.NotEqual(t, got, sum(b.ring, "k2", "other", "hello"), "another purpose, another MAC")
	require.Equal(t, got, sum(b.ring, "k2", "fingerprint", "hello"))

	// After a rotation the old key still computes the same MAC.
	old, err := ParseKeyring("k1:" + b.k1b64)
	require.NoError(t, err)
	require.Equal(t, sum(old, "k1", "fingerprint", "x"), sum(b.ring, "k1", "fingerprint", "x"))

	_, err = b.ring.NewMAC("k3", "fingerprint")
	require.ErrorIs(t, err, ErrUnknownKey)

	// The derived MAC keys never show in the printed keyring either.
	for _, format := range []string{"%v", "%+v", "%#v"} {
		for _, v := range []any{b.ring, *b.ring} {
			out := fmt.Sprintf(format, v)
			requireNoKeyMaterial(t, out, macKeyFor(t, b.k1))
			requireNoKeyMaterial(t, out, macKeyFor(t, b.k2))
		}
	}
}
