package bounce

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/secret"
)

func testKeyring(t *testing.T, spec ...string) *secret.Keyring {
	t.Helper()
	if len(spec) == 0 {
		s, err := secret.GenerateKeySpec("k1")
		require.NoError(t, err)
		spec = []string{s}
	}
	k, err := secret.ParseKeyring(strings.Join(spec, ","))
	require.NoError(t, err)
	return k
}

func TestVERPRoundTrip(t *testing.T) {
	t.Parallel()
	v := NewVERP(testKeyring(t), "Bounces.Example")
	id := uuid.New()
	addr, err := v.Address(id)
	require.NoError(t, err)
	local, domain, _ := strings.Cut(addr, "@")
	require.Equal(t, "bounces.example", domain)
	require.True(t, strings.HasPrefix(local, "b-"))
	require.LessOrEqual(t, len(local), 64, "a local part is at most 64 characters")
	require.Equal(t, strings.ToLower(local), local)

	for _, a := range []string{addr, strings.ToUpper(addr), "<" + addr + ">", addr + "."} {
		got, ok := v.Parse(a)
		require.True(t, ok, a)
		require.Equal(t, id, got)
	}
}

func TestVERPRefusesForgeries(t *testing.T) {
	t.Parallel()
	k1, err := secret.GenerateKeySpec("k1")
	require.NoError(t, err)
	v := NewVERP(testKeyring(t, k1), "bounces.example")
	addr, err := v.Address(uuid.New())
	require.NoError(t, err)
	local, _, _ := strings.Cut(addr, "@")

	// Another message id under the same MAC.
	other, err := v.Address(uuid.New())
	require.NoError(t, err)
	otherLocal, _, _ := strings.Cut(other, "@")
	spliced := otherLocal[:len(otherLocal)-16] + local[len(local)-16:]

	// One character of the token changed to another of the alphabet.
	flipped := []byte(local)
	if flipped[5] == 'a' {
		flipped[5] = 'b'
	} else {
		flipped[5] = 'a'
	}
	for _, a := range []string{
		spliced + "@bounces.example",
		string(flipped) + "@bounces.example",
		local + "@other.example",                  // another domain
		local[:len(local)-2] + "@bounces.example", // cut
		"fbl@bounces.example",
		"",
		"b-@bounces.example",
	} {
		_, ok := v.Parse(a)
		require.False(t, ok, a)
	}

	// Every other spelling of the same bytes: the last character carries
	// two bits no byte uses.
	last := local[len(local)-1]
	for _, c := range "abcdefghijklmnopqrstuvwxyz234567" {
		if byte(c) == last {
			continue
		}
		_, ok := v.Parse(local[:len(local)-1] + string(c) + "@bounces.example")
		require.False(t, ok, "last character %q for %q", c, last)
	}

	// Signed with a key no longer configured.
	stranger := NewVERP(testKeyring(t), "bounces.example")
	_, ok := stranger.Parse(addr)
	require.False(t, ok)

	// After a rotation the old key still checks.
	k2, err := secret.GenerateKeySpec("k2")
	require.NoError(t, err)
	rotated := NewVERP(testKeyring(t, k2, k1), "bounces.example")
	_, ok = rotated.Parse(addr)
	require.True(t, ok)
}
