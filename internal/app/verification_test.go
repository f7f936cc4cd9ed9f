package app_test

import (
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

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/pages"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/internal/verify"
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
	b.do(t, token, listVerifications, nil).MustDecode(t, &s)
	return s
}

// post is b.do for other goroutines: it fails nothing, it returns the error.
func (b *bundle) post(token, query string, vars map[string]any) (gqlResponse, error) {
	return b.gql.Post(context.Background(), gqlclient.Request{Query: query, Variables: vars, Token: token})
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

// messagesOfKind returns the statuses of the tenant's messages of kind
// (TEST, VERIFICATION or NOTIFICATION), newest first, as the log serves them.
func (b *bundle) messagesOfKind(t require.TestingT, token, kind string) []string {
	var got struct {
		Messages struct {
			Edges []struct{ Node struct{ Status string } }
		}
	}
	b.gql.MustPost(t, gqlclient.Request{Token: token, Query: `query($kind: MessageKind) { messages(filter: {kind: $kind}, first: 500) { edges { node { status } } } }`,
		Variables: map[string]any{"kind": kind}}).MustDecode(t, &got)
	statuses := []string{}
	for _, e := range got.Messages.Edges {
		statuses = append(statuses, e.Node.Status)
	}
	return statuses
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
		results[i].MustDecode(t, &got)
		if i == 0 {
			first = got
		}
		require.Equal(t, first.RequestSenderVerification.ID, got.RequestSenderVerification.ID)
	}
	v := first.RequestSenderVerification
	require.Equal(t, "PENDING", v.Status)
	require.WithinDuration(t, time.Now().Add(24*time.Hour), v.ExpiresAt, time.Minute)
	require.Len(t, b.messagesOfKind(t, admin, "VERIFICATION"), 1)
	rivertest.RequireInserted(context.Background(), t, riverpgxv5.New(b.app.Store().Pool()), verify.SendJobArgs{}, nil)

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
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, []string{"SENT"}, b.messagesOfKind(c, admin, "VERIFICATION"))
	}, 10*time.Second, tick, "the verification message to be logged as SENT")

	// Too soon for another link.
	r := b.do(t, admin, resendVerification, map[string]any{"id": v.ID})
	require.Equal(t, "RATE_LIMITED", r.Code(), r.Raw)
	retryAfter, ok := r.Errors[0].Extensions["retryAfter"].(float64)
	require.True(t, ok, r.Raw)
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
	require.Equal(t, "NOT_FOUND", r.Code(), r.Raw)
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
	require.Equal(t, "CONFLICT", r.Code(), r.Raw)
	require.Contains(t, r.Errors[0].Message, "used already")
	r = b.do(t, "", verifySender, map[string]any{"token": token[:20]})
	require.Equal(t, "INVALID_INPUT", r.Code(), r.Raw)
	require.Equal(t, "token", r.Errors[0].Extensions["field"])
	status, page = b.openLink(t, link)
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, page, "used already")

	require.Len(t, b.auditEntries(t, admin, "sender_verification.request", "sender_verification.verify"), 2)
	require.NotContains(t, b.logs.String(), token)
	require.NotContains(t, b.logs.String(), password)
}

func TestBrandedSenderWithTheDevMailbox(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	admin := b.token(t, "acme", "admin")
	mailbox := func(n int) []pages.MailboxEntry {
		var list []pages.MailboxEntry
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			resp, err := http.Get(b.srv.URL + "/dev/mailbox.json")
			require.NoError(c, err)
			defer resp.Body.Close()
			require.NoError(c, json.NewDecoder(resp.Body).Decode(&list))
			require.GreaterOrEqual(c, len(list), n)
		}, 20*time.Second, tick, "mail in the dev mailbox")
		return list
	}

	var v struct{ RequestSenderVerification verification }
	b.do(t, admin, requestVerification, map[string]any{"email": "old@example.com"}).MustDecode(t, &v)
	list := mailbox(1)
	require.Equal(t, []string{"old@example.com"}, list[0].EnvelopeTo)
	require.Len(t, list[0].Links, 1)
	_, page := b.openLink(t, list[0].Links[0])
	status, _ := b.pressVerify(t, page)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "old@example.com", b.verificationState(t, admin).SenderSettings.FromEmail)

	// A new address: the old one keeps sending until the new one is verified.
	b.do(t, admin, requestVerification, map[string]any{"email": "new@example.com"}).MustDecode(t, &v)
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
	b.do(t, "", verifySender, map[string]any{"token": u.Query().Get("token")}).MustDecode(t, &verified)
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
