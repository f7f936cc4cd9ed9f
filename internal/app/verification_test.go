package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/pages"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/smtptest"
)

const verificationFields = `id email status expiresAt verifiedAt resendAvailableAt`

const requestVerification = `mutation($email: String!) { requestSenderVerification(email: $email) { ` + verificationFields + ` } }`

const resendVerification = `mutation($id: ID!) { resendSenderVerification(id: $id) { ` + verificationFields + ` } }`

const verifySender = `mutation($token: String!) { verifySender(token: $token) { ` + verificationFields + ` } }`

const listVerifications = `{ senderVerifications { ` + verificationFields + ` } senderSettings { mode fromEmail } }`

type verification struct {
	ID, Email, Status string
	ExpiresAt         time.Time
	VerifiedAt        *time.Time
	ResendAvailableAt *time.Time
}

type verificationState struct {
	SenderVerifications []verification
	SenderSettings      struct{ Mode, FromEmail string }
}

func (b *bundle) verificationState(t *testing.T, token string) verificationState {
	t.Helper()
	var s verificationState
	b.do(t, token, listVerifications, nil).decode(t, &s)
	return s
}

// post is b.do for other goroutines: it fails nothing, it returns the error.
func (b *bundle) post(token, query string, vars map[string]any) (gqlResponse, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return gqlResponse{}, err
	}
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		return gqlResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gqlResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return gqlResponse{}, err
	}
	var out gqlResponse
	out.raw = string(raw)
	return out, json.Unmarshal(raw, &out)
}

// openLink follows a verification link of the mail on the test server (the
// link's base is OUTBOX_PUBLIC_URL) and returns the page and its status.
func (b *bundle) openLink(t *testing.T, link string) (int, string) {
	t.Helper()
	require.True(t, strings.HasPrefix(link, b.cfg.PublicURL+"/verify?token="), link)
	u, err := url.Parse(link)
	require.NoError(t, err)
	resp, err := http.Get(b.srv.URL + u.RequestURI())
	require.NoError(t, err)
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(page)
}

var hiddenToken = regexp.MustCompile(`<input type="hidden" name="token" value="([^"]+)">`)

// pressVerify submits the page's form as a browser would.
func (b *bundle) pressVerify(t *testing.T, page string) (int, string) {
	t.Helper()
	m := hiddenToken.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has the Verify button:\n%s", page)
	resp, err := http.PostForm(b.srv.URL+"/verify", url.Values{"token": {m[1]}})
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(out)
}

func (b *bundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.app.Store().Pool().QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

func TestBrandedSenderThroughThePlatformRelay(t *testing.T) {
	t.Parallel()
	const password = "relay-secret-5c1f"
	srv := smtptest.Start(t, smtptest.Options{
		Security: smtptest.SecurityStartTLSRequired, Username: "platform", Password: password, RequireAuth: true,
	})
	relayURL := (&url.URL{Scheme: "smtp", User: url.UserPassword("platform", password), Host: srv.Addr(), RawQuery: "security=starttls"}).String()
	b := setup(t, setupOpts{
		env:     map[string]string{"OUTBOX_PLATFORM_SMTP_URL": relayURL, "OUTBOX_PLATFORM_FROM": "no-reply@platform.example"},
		options: app.Options{Relay: relay.Options{RootCAs: srv.RootCAs()}},
	})
	admin := b.token(t, "acme", "admin")

	// A double (here: quintuple) click sends one mail.
	const clicks = 5
	var wg sync.WaitGroup
	results := make([]gqlResponse, clicks)
	errs := make([]error, clicks)
	for i := range clicks {
		wg.Go(func() {
			results[i], errs[i] = b.post(admin, requestVerification, map[string]any{"email": "shop@example.com"})
		})
	}
	wg.Wait()
	var first struct{ RequestSenderVerification verification }
	for i := range clicks {
		require.NoError(t, errs[i])
		var got struct{ RequestSenderVerification verification }
		results[i].decode(t, &got)
		if i == 0 {
			first = got
		}
		require.Equal(t, first.RequestSenderVerification.ID, got.RequestSenderVerification.ID)
	}
	v := first.RequestSenderVerification
	require.Equal(t, "PENDING", v.Status)
	require.WithinDuration(t, time.Now().Add(24*time.Hour), v.ExpiresAt, time.Minute)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM messages WHERE kind = 'VERIFICATION'`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'sender_verification_send'`))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := srv.Wait(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, []string{"shop@example.com"}, got[0].To)
	require.Equal(t, "no-reply@platform.example", got[0].From)
	require.True(t, got[0].TLS)
	mail, err := relay.ParseMail(got[0].Data)
	require.NoError(t, err)
	require.Equal(t, "Verify your sender address for acme", mail.Subject)
	require.Len(t, mail.Links, 1)
	link := mail.Links[0]
	eventually(t, 10*time.Second, func() bool {
		return b.count(t, `SELECT count(*) FROM messages WHERE kind = 'VERIFICATION' AND status = 'SENT'`) == 1
	}, "the verification message to be logged as SENT")

	// Too soon for another link.
	r := b.do(t, admin, resendVerification, map[string]any{"id": v.ID})
	require.Equal(t, "RATE_LIMITED", r.code(), r.raw)
	retryAfter, ok := r.Errors[0].Extensions["retryAfter"].(float64)
	require.True(t, ok, r.raw)
	require.InDelta(t, 60, retryAfter, 30)

	// The link page only shows the button: a mail scanner verifies nothing.
	status, page := b.openLink(t, link)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "shop@example.com")
	require.Contains(t, page, ">Verify</button>")
	state := b.verificationState(t, admin)
	require.Equal(t, "PENDING", state.SenderVerifications[0].Status)
	require.Equal(t, "PLATFORM", state.SenderSettings.Mode)

	// Another tenant's caller cannot use the token.
	token := hiddenToken.FindStringSubmatch(page)[1]
	r = b.do(t, b.token(t, "globex", "admin"), verifySender, map[string]any{"token": token})
	require.Equal(t, "NOT_FOUND", r.code(), r.raw)
	require.Equal(t, "PENDING", b.verificationState(t, admin).SenderVerifications[0].Status)

	status, done := b.pressVerify(t, page)
	require.Equal(t, http.StatusOK, status, done)
	require.Contains(t, done, "Address verified")
	state = b.verificationState(t, admin)
	require.Equal(t, "VERIFIED", state.SenderVerifications[0].Status)
	require.NotNil(t, state.SenderVerifications[0].VerifiedAt)
	require.Equal(t, "BRANDED", state.SenderSettings.Mode)
	require.Equal(t, "shop@example.com", state.SenderSettings.FromEmail)

	// Single use, and the mutation needs no JWT.
	r = b.do(t, "", verifySender, map[string]any{"token": token})
	require.Equal(t, "CONFLICT", r.code(), r.raw)
	require.Contains(t, r.Errors[0].Message, "used already")
	r = b.do(t, "", verifySender, map[string]any{"token": token[:20]})
	require.Equal(t, "INVALID_INPUT", r.code(), r.raw)
	require.Equal(t, "token", r.Errors[0].Extensions["field"])
	status, page = b.openLink(t, link)
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, page, "used already")

	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM audit_log WHERE action IN ('sender_verification.request', 'sender_verification.verify')`))
	require.NotContains(t, b.logs.String(), token)
	require.NotContains(t, b.logs.String(), password)
}

func TestBrandedSenderWithTheDevMailbox(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	admin := b.token(t, "acme", "admin")
	mailbox := func(n int) []pages.MailboxEntry {
		var list []pages.MailboxEntry
		eventually(t, 20*time.Second, func() bool {
			resp, err := http.Get(b.srv.URL + "/dev/mailbox.json")
			require.NoError(t, err)
			defer resp.Body.Close()
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
			return len(list) >= n
		}, "mail in the dev mailbox")
		return list
	}

	var v struct{ RequestSenderVerification verification }
	b.do(t, admin, requestVerification, map[string]any{"email": "old@example.com"}).decode(t, &v)
	list := mailbox(1)
	require.Equal(t, []string{"old@example.com"}, list[0].EnvelopeTo)
	require.Len(t, list[0].Links, 1)
	_, page := b.openLink(t, list[0].Links[0])
	status, _ := b.pressVerify(t, page)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "old@example.com", b.verificationState(t, admin).SenderSettings.FromEmail)

	// A new address: the old one keeps sending until the new one is verified.
	b.do(t, admin, requestVerification, map[string]any{"email": "new@example.com"}).decode(t, &v)
	list = mailbox(2)
	require.Equal(t, []string{"new@example.com"}, list[0].EnvelopeTo, "newest first")
	state := b.verificationState(t, admin)
	require.Equal(t, "BRANDED", state.SenderSettings.Mode)
	require.Equal(t, "old@example.com", state.SenderSettings.FromEmail)

	resp, err := http.Get(b.srv.URL + "/dev/mailbox")
	require.NoError(t, err)
	html, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(html), `<a href="`+strings.ReplaceAll(list[0].Links[0], "&", "&amp;")+`">`)

	u, err := url.Parse(list[0].Links[0])
	require.NoError(t, err)
	var verified struct{ VerifySender verification }
	b.do(t, "", verifySender, map[string]any{"token": u.Query().Get("token")}).decode(t, &verified)
	require.Equal(t, "VERIFIED", verified.VerifySender.Status)
	state = b.verificationState(t, admin)
	require.Equal(t, "new@example.com", state.SenderSettings.FromEmail)
	require.Len(t, state.SenderVerifications, 2)
}

func TestDevMailboxIsHiddenInProduction(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp", "OUTBOX_SECRET_KEY": "k1:" + strings.Repeat("A", 43) + "=",
	}})
	for path, want := range map[string]int{
		"/dev/mailbox":      http.StatusNotFound,
		"/dev/mailbox.json": http.StatusNotFound,
		"/dev/mailbox/1":    http.StatusNotFound,
		"/verify?token=x":   http.StatusBadRequest, // the link page is no development tool
	} {
		resp, err := http.Get(b.srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, path)
	}
}
