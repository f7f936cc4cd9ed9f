package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func TestMint(t *testing.T) {
	t.Parallel()
	b := setup(t)

	raw, err := Mint(MintConfig{
		Issuer:      testIssuer,
		Audience:    testAudience,
		HS256Secret: b.secret,
		Tenant:      "acme",
		Roles:       []string{RoleAdmin, RoleMember},
		TTL:         2 * time.Hour,
		Now:         func() time.Time { return testNow },
	})
	require.NoError(t, err)

	p, err := b.verifier.Verify(context.Background(), raw)
	require.NoError(t, err)
	require.Equal(t, KindUser, p.Kind)
	require.Equal(t, "dev", p.Subject)
	require.Equal(t, "acme", p.Tenant)
	require.Equal(t, []string{RoleAdmin, RoleMember}, p.Roles)
	require.Equal(t, testNow.Add(2*time.Hour), p.ExpiresAt)
	require.NotEmpty(t, p.TokenID)
	require.True(t, p.Can(PermTemplatesWrite))
}

func TestMintDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := MintConfig{Issuer: testIssuer, Audience: testAudience, HS256Secret: b.secret,
		Subject: "alice", Tenant: "acme", Roles: []string{RoleMember}, Now: func() time.Time { return testNow }}

	first, err := Mint(cfg)
	require.NoError(t, err)
	second, err := Mint(cfg)
	require.NoError(t, err)
	require.NotEqual(t, first, second, "every token gets its own jti")

	p, err := b.verifier.Verify(context.Background(), first)
	require.NoError(t, err)
	require.Equal(t, "alice", p.Subject)
	require.Equal(t, testNow.Add(time.Hour), p.ExpiresAt)
	require.False(t, p.Can(PermSettingsWrite))
}

func TestMintOperator(t *testing.T) {
	t.Parallel()
	b := setup(t)

	raw, err := Mint(MintConfig{Issuer: testIssuer, Audience: testAudience, HS256Secret: b.secret,
		Subject: "ops", Operator: true, Now: func() time.Time { return testNow }})
	require.NoError(t, err)

	p, err := b.verifier.Verify(context.Background(), raw)
	require.NoError(t, err)
	require.True(t, p.IsOperator())
	require.Equal(t, "ops", p.Subject)
	require.Empty(t, p.Tenant)
	require.Equal(t, []string{RoleOperator}, p.Roles)
	require.True(t, p.Can(PermOperate))
	require.False(t, p.Can(PermSettingsRead))
}

func TestMintRefuses(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	valid := func() MintConfig {
		return MintConfig{Issuer: testIssuer, Audience: testAudience, HS256Secret: secret, Tenant: "acme", Roles: []string{RoleAdmin}}
	}
	tests := []struct {
		name  string
		edit  func(*MintConfig)
		field string
	}{
		{"no issuer", func(c *MintConfig) { c.Issuer = "" }, "issuer"},
		{"no audience", func(c *MintConfig) { c.Audience = "" }, "audience"},
		{"short secret", func(c *MintConfig) { c.HS256Secret = []byte("short") }, "secret"},
		{"no tenant", func(c *MintConfig) { c.Tenant = "" }, "tenant"},
		{"no role", func(c *MintConfig) { c.Roles = nil }, "role"},
		{"unknown role", func(c *MintConfig) { c.Roles = []string{"root"} }, "role"},
		{"negative TTL", func(c *MintConfig) { c.TTL = -time.Minute }, "ttl"},
		{"operator role without Operator", func(c *MintConfig) { c.Roles = []string{RoleOperator} }, "role"},
		{"operator with a tenant", func(c *MintConfig) { c.Operator, c.Roles = true, nil }, "tenant"},
		{"operator with roles", func(c *MintConfig) { c.Operator, c.Tenant = true, "" }, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid()
			tt.edit(&cfg)
			raw, err := Mint(cfg)
			require.Empty(t, raw)
			e := outbox.AsError(err)
			require.NotNil(t, e)
			require.Equal(t, outbox.EINVALID, e.Code)
			require.Equal(t, tt.field, e.Field)
		})
	}
}
