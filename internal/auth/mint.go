package auth

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/outbox/outbox/internal/outbox"
)

// MintConfig describes a development token for `outbox token`.
type MintConfig struct {
	// Issuer and Audience must be those the Verifier expects. Required.
	Issuer   string
	Audience string
	// HS256Secret signs the token; the Verifier's Config.HS256Secret, at
	// least 32 bytes. Required.
	HS256Secret []byte
	// Subject is the token's `sub`. Default: "dev".
	Subject string
	// Tenant is the tenant the token acts for. Required, except for an
	// operator token, which must have none.
	Tenant string
	// Roles are RoleAdmin and/or RoleMember. At least one is required,
	// except for an operator token, which must have none.
	Roles []string
	// Operator mints a platform operator's token: roles [RoleOperator] and
	// no tenant claim. Default: false, a tenant user's token.
	Operator bool
	// TTL is how long the token is valid. Default (zero): 1 hour.
	TTL time.Duration
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Mint returns a platform user token signed with HS256, with the claims
// iss, aud, sub, tenant, roles, iat, exp and a random jti; an operator token
// (cfg.Operator) has roles ["operator"] and no tenant. It is meant for
// development and tests; in production the identity provider issues tokens.
// It returns an outbox.Invalid error naming the field at fault when cfg
// lacks a required field, names an unknown role, gives an operator token a
// tenant or roles, or has a negative TTL.
func Mint(cfg MintConfig) (string, error) {
	switch {
	case cfg.Issuer == "":
		return "", outbox.Invalid("issuer", "an issuer is required")
	case cfg.Audience == "":
		return "", outbox.Invalid("audience", "an audience is required")
	case len(cfg.HS256Secret) < minSecretSize:
		return "", outbox.Invalid("secret", "the HS256 secret must have at least %d bytes", minSecretSize)
	case cfg.TTL < 0:
		return "", outbox.Invalid("ttl", "the TTL must not be negative")
	case cfg.Operator && cfg.Tenant != "":
		return "", outbox.Invalid("tenant", "an operator token acts for no tenant; give no tenant")
	case cfg.Operator && len(cfg.Roles) > 0:
		return "", outbox.Invalid("role", "an operator token has only the %s role; give no roles", RoleOperator)
	case cfg.Operator:
		// Complete: an operator needs neither tenant nor roles.
	case cfg.Tenant == "":
		return "", outbox.Invalid("tenant", "a tenant is required")
	case len(cfg.Roles) == 0:
		return "", outbox.Invalid("role", "at least one role is required (%s or %s)", RoleAdmin, RoleMember)
	}
	for _, role := range cfg.Roles {
		if role == RoleOperator {
			return "", outbox.Invalid("role", "the %s role makes an operator token, without a tenant; mint it with Operator", RoleOperator)
		}
		if !slices.Contains(roles(), role) {
			return "", outbox.Invalid("role", "unknown role %q; use %s or %s", role, RoleAdmin, RoleMember)
		}
	}
	tokenRoles := cfg.Roles
	if cfg.Operator {
		tokenRoles = []string{RoleOperator}
	}
	subject, ttl, now := cfg.Subject, cfg.TTL, cfg.Now
	if subject == "" {
		subject = "dev"
	}
	if ttl == 0 {
		ttl = time.Hour
	}
	if now == nil {
		now = time.Now
	}
	roleList, err := json.Marshal(tokenRoles)
	if err != nil {
		return "", fmt.Errorf("encoding roles: %w", err)
	}

	issuedAt := now()
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    cfg.Issuer,
			Audience:  jwt.ClaimStrings{cfg.Audience},
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(issuedAt),
			ExpiresAt: jwt.NewNumericDate(issuedAt.Add(ttl)),
			ID:        rand.Text(),
		},
		Tenant: cfg.Tenant,
		Roles:  roleList,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(cfg.HS256Secret)
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	return signed, nil
}
