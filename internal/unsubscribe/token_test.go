package unsubscribe_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/unsubscribe"
)

var b64 = base64.RawURLEncoding

func keyring(t *testing.T, spec ...string) *secret.Keyring {
	t.Helper()
	k, err := secret.ParseKeyring(strings.Join(spec, ","))
	require.NoError(t, err)
	return k
}

func keySpec(t *testing.T, id string) string {
	t.Helper()
	s, err := secret.GenerateKeySpec(id)
	require.NoError(t, err)
	return s
}

func TestTokenRoundTripAndRotation(t *testing.T) {
	t.Parallel()
	k1, k2 := keySpec(t, "k1"), keySpec(t, "k2")
	old := keyring(t, k1)
	c := unsubscribe.Claims{TenantID: uuid.New(), Email: "Reader@Example.com", Scope: outbox.ScopeSubscription}
	tok, err := unsubscribe.Sign(old, c)
	require.NoError(t, err)
	require.Regexp(t, `^[A-Za-z0-9_-]+$`, tok, "goes into a URL as is")

	got, err := unsubscribe.Parse(old, tok)
	require.NoError(t, err)
	require.Equal(t, c.TenantID, got.TenantID)
	require.Equal(t, "reader@example.com", got.Email)
	require.Equal(t, outbox.ScopeSubscription, got.Scope)

	// After a rotation the old key still verifies what it signed...
	rotated := keyring(t, k2, k1)
	_, err = unsubscribe.Parse(rotated, tok)
	require.NoError(t, err)
	// ...and once it is dropped, its tokens stop working.
	_, err = unsubscribe.Parse(keyring(t, k2), tok)
	require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err))
}

func TestTokenRefusesForgeries(t *testing.T) {
	t.Parallel()
	k := keyring(t, keySpec(t, "k1"))
	tenant, other := uuid.New(), uuid.New()
	tok, err := unsubscribe.Sign(k, unsubscribe.Claims{TenantID: tenant, Email: "reader@example.com", Scope: outbox.ScopeSubscription})
	require.NoError(t, err)
	raw, err := b64.DecodeString(tok)
	require.NoError(t, err)
	keyLen := int(raw[1])
	tenantAt := 2 + keyLen

	edit := func(f func(b []byte) []byte) string {
		b := f(append([]byte(nil), raw...))
		return b64.EncodeToString(b)
	}
	otherKey, err := unsubscribe.Sign(keyring(t, keySpec(t, "k1")), unsubscribe.Claims{TenantID: tenant, Email: "reader@example.com", Scope: outbox.ScopeSubscription})
	require.NoError(t, err)

	for name, forged := range map[string]string{
		"another tenant": edit(func(b []byte) []byte { copy(b[tenantAt:], other[:]); return b }),
		"another address": edit(func(b []byte) []byte {
			i := len(b) - 32 - len("reader@example.com")
			copy(b[i:], "writer")
			return b
		}),
		"another scope":         edit(func(b []byte) []byte { b[tenantAt+16] = 'A'; return b }),
		"a flipped MAC bit":     edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }),
		"another version":       edit(func(b []byte) []byte { b[0] = 2; return b }),
		"cut short":             tok[:len(tok)-5],
		"too long":              tok + strings.Repeat("A", unsubscribe.MaxTokenLen),
		"not base64":            tok[:10] + "*" + tok[11:],
		"empty":                 "",
		"signed by another key": otherKey,
	} {
		_, err := unsubscribe.Parse(k, forged)
		require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err), name)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	k := keyring(t, keySpec(t, "k1"))
	tenant := uuid.New()
	for _, tt := range []struct {
		name, mailto string
		want         string
	}{
		{"https only", "", `^<https://outbox\.example/unsubscribe\?token=[A-Za-z0-9_-]+>$`},
		{"with mailto", "unsubscribe@outbox.example",
			`^<https://outbox\.example/unsubscribe\?token=([A-Za-z0-9_-]+)>, <mailto:unsubscribe@outbox\.example\?subject=unsubscribe%20([A-Za-z0-9_-]+)>$`},
	} {
		svc := unsubscribe.NewService(nil, k, unsubscribe.Config{PublicURL: "https://outbox.example", Mailto: tt.mailto})
		h, err := svc.Headers(tenant, "Reader@Example.com")
		require.NoError(t, err, tt.name)
		require.Regexp(t, tt.want, h["List-Unsubscribe"], tt.name)
		require.Equal(t, "List-Unsubscribe=One-Click", h["List-Unsubscribe-Post"], tt.name)
		token := h["List-Unsubscribe"][len("<https://outbox.example/unsubscribe?token="):]
		token = token[:strings.IndexByte(token, '>')]
		c, err := unsubscribe.Parse(k, token)
		require.NoError(t, err, tt.name)
		require.Equal(t, unsubscribe.Claims{TenantID: tenant, Email: "reader@example.com", Scope: outbox.ScopeSubscription}, c, tt.name)
	}
}
