package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestJWKSURLAndRateLimitSettings(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}))
	require.NoError(t, err)
	require.Empty(t, c.JWTJWKSURL)
	require.Equal(t, 10*time.Minute, c.JWTJWKSCacheTTL)
	require.Equal(t, 5*time.Second, c.JWTJWKSTimeout)
	require.Equal(t, 3000, c.RateLimitTenant)
	require.Equal(t, 1200, c.RateLimitClient)
	require.Equal(t, 6000, c.RateLimitSendTenant)
	require.Equal(t, 3000, c.RateLimitSendClient)

	c, err = FromEnv(envOf(map[string]string{
		"OUTBOX_DATA_DIR": t.TempDir(), "OUTBOX_JWT_JWKS_URL": "https://idp.example/.well-known/jwks.json",
		"OUTBOX_JWT_JWKS_CACHE_TTL": "1h", "OUTBOX_RATE_LIMIT_CLIENT": "0",
	}))
	require.NoError(t, err)
	require.Equal(t, "https://idp.example/.well-known/jwks.json", c.JWTJWKSURL)
	require.Equal(t, time.Hour, c.JWTJWKSCacheTTL)
	require.Zero(t, c.RateLimitClient)

	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OUTBOX_JWT_JWKS_URL": "idp.example/jwks"}, "OUTBOX_JWT_JWKS_URL"},
		{map[string]string{"OUTBOX_JWT_JWKS_URL": "https://idp.example/jwks", "OUTBOX_JWT_JWKS_FILE": "/etc/jwks.json"}, "not both"},
		{map[string]string{"OUTBOX_JWT_JWKS_CACHE_TTL": "1s"}, "OUTBOX_JWT_JWKS_CACHE_TTL"},
		{map[string]string{"OUTBOX_JWT_JWKS_TIMEOUT": "1h"}, "OUTBOX_JWT_JWKS_TIMEOUT"},
		{map[string]string{"OUTBOX_RATE_LIMIT_SEND_CLIENT": "-1"}, "OUTBOX_RATE_LIMIT_SEND_CLIENT"},
		{map[string]string{"OUTBOX_RATE_LIMIT_TENANT": "lots"}, "OUTBOX_RATE_LIMIT_TENANT"},
		{map[string]string{"OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp", "OUTBOX_SECRET_KEY": "k:x",
			"OUTBOX_JWT_JWKS_URL": "http://idp.example/jwks"}, "https URL in production"},
	}
	for _, tc := range cases {
		env := map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}
		for k, v := range tc.env {
			env[k] = v
		}
		_, err := FromEnv(envOf(env))
		require.ErrorContains(t, err, tc.want, tc.env)
	}

	// In production a JWKS URL stands in for the HS256 secret.
	_, err = FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir(), "OUTBOX_ENV": "production",
		"OUTBOX_JWT_ISSUER": "https://idp.example/", "OUTBOX_SECRET_KEY": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"OUTBOX_JWT_JWKS_URL": "https://idp.example/.well-known/jwks.json"}))
	require.NoError(t, err)
}
