package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
)

const testSenderMutation = `mutation($input: SenderSettingsInput!) {
	testSenderSettings(input: $input) { id status messageId }
}`

const senderTestQuery = `query($id: ID!) {
	senderTest(id: $id) { id status steps { name ok durationMs detail } error { category code enhancedCode message hint } finishedAt }
}`

type senderTestResult struct {
	ID     string
	Status string
	Steps  []struct {
		Name       string
		Ok         bool
		DurationMs int
		Detail     *string
	}
	Error *struct {
		Category     string
		Code         *int
		EnhancedCode *string
		Message      string
		Hint         *string
	}
	FinishedAt *time.Time
}

// runSenderTest starts a test send and waits for its outcome.
func (b *bundle) runSenderTest(t *testing.T, token string, input map[string]any) senderTestResult {
	t.Helper()
	var started struct{ TestSenderSettings struct{ ID, Status string } }
	b.do(t, token, testSenderMutation, map[string]any{"input": input}).MustDecode(t, &started)
	require.Equal(t, "PENDING", started.TestSenderSettings.Status)
	var got struct{ SenderTest senderTestResult }
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		b.gql.MustPost(c, gqlclient.Request{Query: senderTestQuery, Variables: map[string]any{"id": started.TestSenderSettings.ID}, Token: token}).MustDecode(c, &got)
		require.Contains(c, []string{"PASSED", "FAILED"}, got.SenderTest.Status)
	}, 20*time.Second, tick, "the sender test to finish")
	return got.SenderTest
}

func smtpInput(srv *smtptest.Server, password string) map[string]any {
	return map[string]any{
		"mode":          "SMTP",
		"fromName":      `Shop [Tokyo]; "Best" <deals>, Inc. @ Home.`,
		"fromEmail":     "shop@example.com",
		"replyTo":       "help@example.com",
		"bcc":           []string{"a@example.com, b@example.com", "A@example.com"},
		"testRecipient": "owner@example.net",
		"smtp": map[string]any{
			"preset": "custom", "host": srv.Host(), "port": srv.Port(),
			"security": "STARTTLS", "auth": "PLAIN", "username": "shop", "password": password,
		},
	}
}

func TestSenderSettingsTestBeforeSave(t *testing.T) {
	t.Parallel()
	const password = "app-password-9f8e7d"
	srv := smtptest.Start(t, smtptest.Options{
		Security: smtptest.SecurityStartTLSRequired, Username: "shop", Password: password, RequireAuth: true,
	})
	b := setup(t, setupOpts{options: app.Options{Sender: sender.Options{RootCAs: srv.RootCAs(), TestTimeout: 5 * time.Second}}})
	admin := b.token(t, "acme", "admin")

	// A wrong password fails at AUTH with a hint a shop owner can act on.
	failed := b.runSenderTest(t, admin, smtpInput(srv, "wrong-password"))
	require.Equal(t, "FAILED", failed.Status)
	require.NotNil(t, failed.Error)
	require.Equal(t, "AUTH_FAILED", failed.Error.Category)
	require.Equal(t, 535, *failed.Error.Code)
	require.Contains(t, *failed.Error.Hint, "app password")
	last := failed.Steps[len(failed.Steps)-1]
	require.Equal(t, "AUTH", last.Name)
	require.False(t, last.Ok)
	var names []string
	for _, s := range failed.Steps {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"RESOLVE", "CONNECT", "EHLO", "TLS", "AUTH"}, names)

	// A failed test cannot be saved.
	resp := b.do(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, map[string]any{"id": failed.ID})
	require.Equal(t, "CONFLICT", resp.Code(), resp.Raw)
	require.Contains(t, resp.Errors[0].Message, "has not passed")

	// The right password passes every step and the test mail arrives.
	passed := b.runSenderTest(t, admin, smtpInput(srv, password))
	require.Equal(t, "PASSED", passed.Status, "%+v", passed.Error)
	require.Nil(t, passed.Error)
	for _, s := range passed.Steps {
		require.True(t, s.Ok, s.Name)
	}
	// After DATA, what DNS says of the From domain: warnings that do not
	// fail the test (example.net has no records on the test DNS server).
	n := len(passed.Steps)
	require.Equal(t, "DATA", passed.Steps[n-4].Name)
	for i, name := range []string{"SPF", "DKIM", "DMARC"} {
		require.Equal(t, name, passed.Steps[n-3+i].Name)
		require.True(t, strings.HasPrefix(*passed.Steps[n-3+i].Detail, "warning: "), *passed.Steps[n-3+i].Detail)
	}
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	require.True(t, msgs[0].TLS)
	require.Equal(t, "shop", msgs[0].User)
	require.Equal(t, []string{"owner@example.net"}, msgs[0].To)
	parsed, err := mail.ReadMessage(strings.NewReader(string(msgs[0].Data)))
	require.NoError(t, err)
	from, err := mail.ParseAddress(parsed.Header.Get("From"))
	require.NoError(t, err)
	require.Equal(t, `Shop [Tokyo]; "Best" <deals>, Inc. @ Home.`, from.Name)
	require.Equal(t, "shop@example.com", from.Address)

	// A member may read but not save.
	resp = b.do(t, b.token(t, "acme", "member"), `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, map[string]any{"id": passed.ID})
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	// Another tenant cannot see or save it.
	other := b.token(t, "globex", "admin")
	resp = b.do(t, other, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, map[string]any{"id": passed.ID})
	require.Equal(t, "NOT_FOUND", resp.Code(), resp.Raw)
	var hidden struct{ SenderTest *senderTestResult }
	b.do(t, other, senderTestQuery, map[string]any{"id": passed.ID}).MustDecode(t, &hidden)
	require.Nil(t, hidden.SenderTest)

	// The admin saves the passed test.
	var saved struct {
		SaveSenderSettings struct {
			Mode, FromEmail, FromName string
			Bcc                       []string
			SMTP                      struct {
				Host        string
				Port        int
				PasswordSet bool
			}
		}
	}
	resp = b.do(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode fromEmail fromName bcc smtp { host port passwordSet } } }`, map[string]any{"id": passed.ID})
	resp.MustDecode(t, &saved)
	require.Equal(t, "SMTP", saved.SaveSenderSettings.Mode)
	require.Equal(t, "shop@example.com", saved.SaveSenderSettings.FromEmail)
	require.Equal(t, []string{"a@example.com", "b@example.com"}, saved.SaveSenderSettings.Bcc)
	require.True(t, saved.SaveSenderSettings.SMTP.PasswordSet)
	require.Equal(t, srv.Port(), saved.SaveSenderSettings.SMTP.Port)

	// A password left out keeps the stored one: this test passes too.
	input := smtpInput(srv, "")
	delete(input["smtp"].(map[string]any), "password")
	kept := b.runSenderTest(t, admin, input)
	require.Equal(t, "PASSED", kept.Status, "%+v", kept.Error)

	// The older test is no longer the latest draft: saving it is a conflict.
	resp = b.do(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, map[string]any{"id": passed.ID})
	require.Equal(t, "CONFLICT", resp.Code(), resp.Raw)

	// The password never appears in a response or a log line.
	settings := b.do(t, admin, `{ senderSettings { mode smtp { host username passwordSet } } }`, nil)
	require.NotContains(t, settings.Raw, password)
	require.NotContains(t, b.logs.String(), password)
	saves := b.auditEntries(t, admin, "sender_settings.save")
	require.Len(t, saves, 1)
	require.NotContains(t, string(saves[0].Before)+string(saves[0].After), password)

	// useDefaultSender returns to PLATFORM without a test.
	var def struct{ UseDefaultSender struct{ Mode string } }
	b.do(t, admin, `mutation { useDefaultSender { mode } }`, nil).MustDecode(t, &def)
	require.Equal(t, "PLATFORM", def.UseDefaultSender.Mode)
}

func TestSenderSettingsValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	admin := b.token(t, "acme", "admin")
	base := func() map[string]any {
		return map[string]any{
			"mode": "SMTP", "fromEmail": "shop@example.com", "testRecipient": "owner@example.net",
			"smtp": map[string]any{"host": "smtp.example.com", "port": 587, "security": "STARTTLS", "auth": "PLAIN", "username": "u", "password": "p"},
		}
	}
	cases := []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"header injection in the display name", func(in map[string]any) { in["fromName"] = "Evil\r\nBcc: victim@example.com" }, "fromName"},
		{"bad from address", func(in map[string]any) { in["fromEmail"] = "not-an-address" }, "fromEmail"},
		{"465 with STARTTLS", func(in map[string]any) { in["smtp"].(map[string]any)["port"] = 465 }, "smtp.security"},
		{"port out of range", func(in map[string]any) { in["smtp"].(map[string]any)["port"] = 70000 }, "smtp.port"},
		{"host with a scheme", func(in map[string]any) { in["smtp"].(map[string]any)["host"] = "smtp://x" }, "smtp.host"},
		{"eleven bcc", func(in map[string]any) {
			var list []string
			for i := range 11 {
				list = append(list, fmt.Sprintf("b%d@example.com", i))
			}
			in["bcc"] = []string{strings.Join(list, ",")}
		}, "bcc"},
		{"bad test recipient", func(in map[string]any) { in["testRecipient"] = "nobody" }, "testRecipient"},
		{"limits above the preset", func(in map[string]any) {
			in["smtp"].(map[string]any)["preset"] = "gmail"
			in["smtp"].(map[string]any)["host"] = "smtp.gmail.com"
			in["smtp"].(map[string]any)["limits"] = map[string]any{"perDay": 5000}
		}, "smtp.limits.perDay"},
	}
	for _, tc := range cases {
		in := base()
		tc.edit(in)
		resp := b.do(t, admin, testSenderMutation, map[string]any{"input": in})
		require.Equal(t, "INVALID_INPUT", resp.Code(), "%s: %s", tc.name, resp.Raw)
		require.Equal(t, tc.field, resp.Errors[0].Extensions["field"], "%s: %s", tc.name, resp.Raw)
	}
	// Nothing half-written: no message in the log, and no test (which no
	// query lists).
	var log struct {
		Messages struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	b.do(t, admin, `{ messages(first: 500) { edges { node { id } } } }`, nil).MustDecode(t, &log)
	require.Empty(t, log.Messages.Edges)
	var n int
	require.NoError(t, b.app.Store().Pool().QueryRow(context.Background(), "SELECT count(*) FROM sender_tests").Scan(&n))
	require.Zero(t, n)

	// Display names with punctuation and Japanese are accepted as typed.
	in := base()
	in["fromName"] = "株式会社テスト [本店]; \"Best\""
	resp := b.do(t, admin, testSenderMutation, map[string]any{"input": in})
	require.Empty(t, resp.Errors, resp.Raw)
}

func TestProviderPresets(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	var got struct {
		ProviderPresets []struct {
			Key, Security, Auth string
			Host                *string
			Port                int
			Limits              struct{ PerDay, PerMinute, RecipientsPerMessage *int }
		}
	}
	b.do(t, b.token(t, "acme", "member"), `{ providerPresets { key host port security auth limits { perDay perMinute recipientsPerMessage } } }`, nil).MustDecode(t, &got)
	byKey := map[string]int{}
	for i, p := range got.ProviderPresets {
		byKey[p.Key] = i
	}
	for _, key := range []string{"gmail", "google_workspace", "microsoft365", "yahoo", "amazon_ses", "sendgrid", "mailgun", "postmark", "sakura", "xserver", "lolipop", "muumuu", "onamae", "custom"} {
		require.Contains(t, byKey, key)
	}
	gmail := got.ProviderPresets[byKey["gmail"]]
	require.Equal(t, 500, *gmail.Limits.PerDay)
	require.Equal(t, "smtp.gmail.com", *gmail.Host)
	m365 := got.ProviderPresets[byKey["microsoft365"]]
	require.Equal(t, 30, *m365.Limits.PerMinute)
	require.Equal(t, 500, *m365.Limits.RecipientsPerMessage)
	xs := got.ProviderPresets[byKey["xserver"]]
	require.Equal(t, 587, xs.Port)
	require.Equal(t, "STARTTLS", xs.Security)
}

func TestSenderSettingsHTTPAPI(t *testing.T) {
	t.Parallel()
	const secret = "Bearer api-key-5b1c"
	var mu sync.Mutex
	var bodies []map[string]any
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != secret {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(api.Close)
	b := setup(t, setupOpts{})
	admin := b.token(t, "acme", "admin")
	input := func(authValue string) map[string]any {
		return map[string]any{
			"mode": "HTTP", "fromName": "株式会社テスト", "fromEmail": "shop@example.com", "testRecipient": "owner@example.net",
			"http": map[string]any{"url": api.URL + "/send", "authHeader": "Authorization", "authValue": authValue},
		}
	}

	failed := b.runSenderTest(t, admin, input("Bearer wrong"))
	require.Equal(t, "FAILED", failed.Status)
	require.Equal(t, "AUTH_FAILED", failed.Error.Category)

	passed := b.runSenderTest(t, admin, input(secret))
	require.Equal(t, "PASSED", passed.Status, "%+v", passed.Error)
	mu.Lock()
	require.Len(t, bodies, 1)
	require.Equal(t, map[string]any{"name": "株式会社テスト", "email": "shop@example.com"}, bodies[0]["from"])
	require.Equal(t, []any{"owner@example.net"}, bodies[0]["to"])
	mu.Unlock()

	var saved struct {
		SaveSenderSettings struct {
			Mode string
			HTTP struct {
				URL          string
				AuthValueSet bool
			}
		}
	}
	resp := b.do(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode http { url authValueSet } } }`, map[string]any{"id": passed.ID})
	resp.MustDecode(t, &saved)
	require.Equal(t, "HTTP", saved.SaveSenderSettings.Mode)
	require.True(t, saved.SaveSenderSettings.HTTP.AuthValueSet)
	require.NotContains(t, resp.Raw, "api-key-5b1c")
	require.NotContains(t, b.logs.String(), "api-key-5b1c")
}

func TestPrivateNetworksCanBeDenied(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	b := setup(t, setupOpts{env: map[string]string{"OUTBOX_PRIVATE_NETWORKS": "deny"}})
	in := map[string]any{
		"mode": "SMTP", "fromEmail": "shop@example.com", "testRecipient": "owner@example.net",
		"smtp": map[string]any{"host": srv.Host(), "port": srv.Port(), "security": "NONE", "auth": "NONE"},
	}
	res := b.runSenderTest(t, b.token(t, "acme", "admin"), in)
	require.Equal(t, "FAILED", res.Status)
	require.Equal(t, "CONFIG", res.Error.Category)
	require.Contains(t, res.Error.Message, "on a network that is not allowed")
	require.NotContains(t, res.Error.Message, "127.0.0.1")
	require.Zero(t, srv.Connections())
}

// TestStoredSecretStaysWithItsServer: a password left out is reused only for
// the server it was given for, so a tenant (or a stolen session) cannot send
// the stored password to a server of its choosing.
func TestStoredSecretStaysWithItsServer(t *testing.T) {
	t.Parallel()
	const password = "app-password-31c7"
	srv := smtptest.Start(t, smtptest.Options{Username: "shop", Password: password, RequireAuth: true})
	other := smtptest.Start(t, smtptest.Options{})
	b := setup(t, setupOpts{options: app.Options{Sender: sender.Options{RootCAs: srv.RootCAs(), TestTimeout: 5 * time.Second}}})
	admin := b.token(t, "acme", "admin")
	input := func(edit func(smtp map[string]any)) map[string]any {
		in := smtpInput(srv, password)
		c := in["smtp"].(map[string]any)
		c["security"], c["auth"] = "NONE", "PLAIN"
		edit(c)
		return in
	}
	passed := b.runSenderTest(t, admin, input(func(map[string]any) {}))
	require.Equal(t, "PASSED", passed.Status, "%+v", passed.Error)
	resp := b.do(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, map[string]any{"id": passed.ID})
	require.Empty(t, resp.Errors, resp.Raw)

	forgetPassword := func(c map[string]any) { delete(c, "password") }
	for name, edit := range map[string]func(map[string]any){
		"another host":     func(c map[string]any) { c["host"] = "localhost" },
		"another port":     func(c map[string]any) { c["port"] = other.Port() },
		"another security": func(c map[string]any) { c["security"] = "STARTTLS" },
		"another username": func(c map[string]any) { c["username"] = "someone-else" },
	} {
		in := input(func(c map[string]any) { edit(c); forgetPassword(c) })
		resp := b.do(t, admin, testSenderMutation, map[string]any{"input": in})
		require.Equal(t, "INVALID_INPUT", resp.Code(), "%s: %s", name, resp.Raw)
		require.Equal(t, "smtp.password", resp.Errors[0].Extensions["field"], "%s: %s", name, resp.Raw)
		require.Contains(t, resp.Errors[0].Message, "enter the password again for a new server", name)
	}
	require.Zero(t, other.Connections(), "the stored password went nowhere else")

	// The same server, its host spelled in capitals and the From changed,
	// keeps the stored password.
	kept := b.runSenderTest(t, admin, input(func(c map[string]any) {
		forgetPassword(c)
		c["host"] = strings.ToUpper(srv.Host())
	}))
	require.Equal(t, "PASSED", kept.Status, "%+v", kept.Error)
}

func TestStoredAuthValueStaysWithItsAPI(t *testing.T) {
	t.Parallel()
	const secret = "Bearer api-key-77aa"
	var hits sync.Map
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key"), true)
		if r.Header.Get("Authorization") != secret {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(api.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(api.URL, "http://"), ":")
	b := setup(t, setupOpts{})
	admin := b.token(t, "acme", "admin")
	input := func(url, header string, value any) map[string]any {
		h := map[string]any{"url": url, "authHeader": header}
		if value != nil {
			h["authValue"] = value
		}
		return map[string]any{"mode": "HTTP", "fromEmail": "shop@example.com", "testRecipient": "owner@example.net", "http": h}
	}
	passed := b.runSenderTest(t, admin, input(api.URL+"/send", "Authorization", secret))
	require.Equal(t, "PASSED", passed.Status, "%+v", passed.Error)
	resp := b.do(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, map[string]any{"id": passed.ID})
	require.Empty(t, resp.Errors, resp.Raw)

	for name, in := range map[string]map[string]any{
		"another host":   input("http://localhost:"+port+"/send", "Authorization", nil),
		"another header": input(api.URL+"/send", "X-Api-Key", nil),
	} {
		resp := b.do(t, admin, testSenderMutation, map[string]any{"input": in})
		require.Equal(t, "INVALID_INPUT", resp.Code(), "%s: %s", name, resp.Raw)
		require.Equal(t, "http.authValue", resp.Errors[0].Extensions["field"], "%s: %s", name, resp.Raw)
		require.Contains(t, resp.Errors[0].Message, "again for a new server", name)
	}

	// Another path on the same host, with the header spelled in lower case,
	// keeps the stored value.
	kept := b.runSenderTest(t, admin, input(api.URL+"/v2/send", "authorization", nil))
	require.Equal(t, "PASSED", kept.Status, "%+v", kept.Error)
}
