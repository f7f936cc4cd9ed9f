package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnauthenticatedRequestsAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})

	resp := b.do(t, "", `{ senderSettings { mode } }`, nil)
	require.Equal(t, "UNAUTHENTICATED", resp.Code(), resp.Raw)

	resp = b.do(t, "not-a-jwt", `{ viewer { subject } }`, nil)
	require.Equal(t, "UNAUTHENTICATED", resp.Code(), resp.Raw)
	require.Equal(t, "malformed token", resp.Errors[0].Message)

	other := strings.Replace(b.token(t, "acme", "admin"), ".", ".x", 1)
	resp = b.do(t, other, `{ viewer { subject } }`, nil)
	require.Equal(t, "UNAUTHENTICATED", resp.Code(), resp.Raw)
}

func TestDefaultSenderSettingsArePlatform(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_PLATFORM_NAME": "Shopverse", "OUTBOX_PLATFORM_FROM": "mail@shopverse.example",
	}})

	var got struct {
		Viewer struct {
			Subject string
			Tenant  struct {
				ID, Name      string
				RetentionDays int
			}
			Roles []string
		}
		SenderSettings struct {
			Mode, FromEmail, FromName string
			Bcc                       []string
			Health                    struct{ Ok bool }
		}
	}
	b.do(t, b.token(t, "acme", "member"), `{
		viewer { subject tenant { id name retentionDays } roles }
		senderSettings { mode fromEmail fromName bcc health { ok } }
	}`, nil).MustDecode(t, &got)
	require.Equal(t, "user-acme", got.Viewer.Subject)
	require.Equal(t, "acme", got.Viewer.Tenant.Name)
	require.Equal(t, 30, got.Viewer.Tenant.RetentionDays)
	require.NotEmpty(t, got.Viewer.Tenant.ID)
	require.Equal(t, []string{"member"}, got.Viewer.Roles)
	require.Equal(t, "PLATFORM", got.SenderSettings.Mode)
	require.Equal(t, "mail@shopverse.example", got.SenderSettings.FromEmail)
	require.Equal(t, "acme via Shopverse", got.SenderSettings.FromName)
	require.Empty(t, got.SenderSettings.Bcc)
	require.True(t, got.SenderSettings.Health.Ok)
}

func TestTenantsAreSeparate(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	var a, c struct {
		Viewer struct{ Tenant struct{ ID string } }
	}
	b.do(t, b.token(t, "tenant-a", "admin"), `{ viewer { tenant { id } } }`, nil).MustDecode(t, &a)
	b.do(t, b.token(t, "tenant-b", "admin"), `{ viewer { tenant { id } } }`, nil).MustDecode(t, &c)
	require.NotEqual(t, a.Viewer.Tenant.ID, c.Viewer.Tenant.ID)

	// The same tenant claim is the same tenant, on every request.
	var again struct {
		Viewer struct{ Tenant struct{ ID string } }
	}
	b.do(t, b.token(t, "tenant-a", "member"), `{ viewer { tenant { id } } }`, nil).MustDecode(t, &again)
	require.Equal(t, a.Viewer.Tenant.ID, again.Viewer.Tenant.ID)
}

func TestExpensiveQueriesAreRefusedBeforeExecution(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{"OUTBOX_QUERY_COMPLEXITY": "5"}})
	tok := b.token(t, "acme", "admin")

	resp := b.do(t, tok, `{ viewer { tenant { id } } }`, nil)
	require.Empty(t, resp.Errors, resp.Raw)

	resp = b.do(t, tok, `query { senderSettings { smtp { host } health { ok } limits { perDay } } viewer { tenant { id name } } }`, nil)
	require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", resp.Code(), resp.Raw)

	resp = b.do(t, tok, `fragment F on Tenant { id } query { viewer { tenant { ...F } } a: viewer { tenant { id } } }`, nil)
	require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", resp.Code(), resp.Raw)
}

func TestDepthLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{"OUTBOX_QUERY_DEPTH": "2"}})
	resp := b.do(t, b.token(t, "acme", "admin"), `{ viewer { tenant { id } } }`, nil)
	require.Equal(t, "DEPTH_LIMIT_EXCEEDED", resp.Code(), resp.Raw)
	require.Contains(t, []string{"", "null"}, string(resp.Data), "nothing may run")
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	get := func(path string) (int, string) {
		resp, err := http.Get(b.srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, _ := get("/healthz")
	require.Equal(t, http.StatusOK, code)
	code, body := get("/readyz")
	require.Equal(t, http.StatusOK, code, body)

	b.do(t, b.token(t, "acme", "admin"), `query Probe { viewer { subject } }`, nil)
	b.sendNotification(t, b.token(t, "acme", "member"), map[string]any{"to": []string{"a@example.com"}, "subject": "Hi", "text": "Hello"})
	code, body = get("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `outbox_graphql_operations_total{operation="viewer",outcome="ok",type="query"} 1`)
	require.Contains(t, body, `outbox_http_requests_total{code="200",route="/graphql"}`)
	require.Contains(t, body, "outbox_http_request_duration_seconds")
	require.Contains(t, body, `outbox_river_jobs{kind="delivery",state="available"} 1`, "River's job counts, read at scrape time")

	code, _ = get("/graphiql")
	require.Equal(t, http.StatusOK, code)

	// A schema behind the binary is not ready.
	_, err := b.app.Store().Pool().Exec(context.Background(), "UPDATE schema_version SET version = version - 1")
	require.NoError(t, err)
	code, body = get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "migrations are pending")
}

func TestProductionHidesGraphiQLAndIntrospection(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp", "OUTBOX_SECRET_KEY": "k1:" + strings.Repeat("A", 43) + "=",
	}})
	resp, err := http.Get(b.srv.URL + "/graphiql")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	r := b.do(t, b.token(t, "acme", "admin"), `{ __schema { types { name } } }`, nil)
	require.NotEmpty(t, r.Errors, r.Raw)
}
