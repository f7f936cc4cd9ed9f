package transport_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/mailapitest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/transport"
)

// provider is one provider's test server and the configuration that
// reaches it.
type provider struct {
	srv *mailapitest.Server
	cfg transport.HTTPConfig
}

// providerKey is the credential every test server accepts.
const providerKey = "key-3f9a0c"

// startProvider starts p's test API and returns a configuration for it with
// the right credentials.
func startProvider(t *testing.T, p outbox.HTTPProvider) provider {
	t.Helper()
	opts := mailapitest.Options{Key: providerKey, Domain: "mg.example.com", AccessKeyID: "AKIAEXAMPLE123456", Region: "eu-west-1"}
	srv := mailapitest.Start(t, p, opts)
	cfg := transport.HTTPConfig{Provider: p, URL: srv.URL, AuthValue: providerKey, Timeout: 5 * time.Second}
	switch p {
	case outbox.HTTPMailgun:
		cfg.Domain, cfg.Region = opts.Domain, "EU"
	case outbox.HTTPSES:
		cfg.AccessKeyID, cfg.Region = opts.AccessKeyID, opts.Region
	}
	return provider{srv: srv, cfg: cfg}
}

var nativeProviders = []outbox.HTTPProvider{outbox.HTTPSendGrid, outbox.HTTPPostmark, outbox.HTTPMailgun, outbox.HTTPSES, outbox.HTTPResend}

// fullMessage uses every field a provider has to carry.
func fullMessage() transport.Message {
	return transport.Message{
		FromName:  `株式会社テスト "Shop [Tokyo]"`,
		FromEmail: "shop@example.com",
		ReplyTo:   "support@example.com",
		To:        []string{"Buyer <buyer@example.net>"},
		Cc:        []string{"cc@例え.jp"},
		Bcc:       []string{"archive@example.com", "BUYER@example.net"},
		Subject:   "ご注文 #1001",
		Text:      "text body",
		HTML:      "<p>html</p>",
		MessageID: "order-1001@outbox.example",
		Headers:   map[string]string{"X-Order": "1001"},
		Attachments: []transport.Attachment{
			{Filename: "invoice.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.7\x00\xff")},
			{Filename: "notes.bin", Data: []byte{0, 1, 2}},
		},
	}
}

func TestNativeProviderDelivery(t *testing.T) {
	t.Parallel()
	for _, p := range nativeProviders {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			pv := startProvider(t, p)
			att, err := transport.SendHTTP(context.Background(), pv.cfg, fullMessage())
			require.NoError(t, err)
			mails := pv.srv.Mails()
			require.Len(t, mails, 1)
			m := mails[0]
			require.Equal(t, m.ID, att.ProviderMessageID, "the provider's id is on the attempt")
			require.NotEmpty(t, att.ProviderMessageID)
			require.Equal(t, pv.srv.URL[len("http://"):], att.Server)

			require.Equal(t, `株式会社テスト "Shop [Tokyo]"`, m.FromName)
			require.Equal(t, "shop@example.com", m.FromEmail)
			require.Equal(t, "support@example.com", m.ReplyTo)
			require.Equal(t, []string{"buyer@example.net"}, m.To)
			require.Equal(t, []string{"cc@xn--r8jz45g.jp"}, m.Cc)
			require.Equal(t, []string{"archive@example.com"}, m.Bcc, "the BCC, once, without the repeated To")
			require.Equal(t, "ご注文 #1001", m.Subject)
			require.Equal(t, "text body", m.Text)
			require.Equal(t, "<p>html</p>", m.HTML)
			require.Equal(t, "<order-1001@outbox.example>", m.MessageID)
			require.Equal(t, "1001", m.Headers["X-Order"])
			require.Equal(t, []mailapitest.Attachment{
				{Filename: "invoice.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.7\x00\xff")},
				{Filename: "notes.bin", ContentType: "application/octet-stream", Data: []byte{0, 1, 2}},
			}, m.Attachments)
			if p == outbox.HTTPResend {
				require.Equal(t, "order-1001@outbox.example", m.IdempotencyKey)
			}
		})
	}
}

func TestNativeProviderTestSend(t *testing.T) {
	t.Parallel()
	for _, p := range nativeProviders {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			pv := startProvider(t, p)
			rep := transport.TestHTTP(context.Background(), pv.cfg, message())
			require.True(t, rep.Passed(), "%+v", rep.Err)
			require.Equal(t, []string{"RESOLVE", "CONNECT", "REQUEST", "RESPONSE"}, stepNames(rep))
			for _, s := range rep.Steps {
				require.True(t, s.OK, s.Name)
			}
			require.Len(t, pv.srv.Mails(), 1)
			id := pv.srv.Mails()[0].ID
			require.Equal(t, id, rep.ProviderMessageID)
			require.Contains(t, rep.Steps[2].Detail, "POST /")
			require.Contains(t, rep.Steps[3].Detail, "accepted the message, message id "+id)

			// A wrong credential fails the RESPONSE step, with a hint
			// naming what to check.
			cfg := pv.cfg
			cfg.AuthValue = "wrong-key"
			rep = transport.TestHTTP(context.Background(), cfg, message())
			require.False(t, rep.Passed())
			require.Equal(t, outbox.CategoryAuthFailed, rep.Err.Category, "%+v", rep.Err)
			require.Equal(t, transport.StepResponse, rep.Err.Step)
			last := rep.Steps[len(rep.Steps)-1]
			require.Equal(t, "RESPONSE", last.Name)
			require.False(t, last.OK)
			require.Contains(t, rep.Err.Hint, map[outbox.HTTPProvider]string{
				outbox.HTTPSendGrid: "Mail Send permission", outbox.HTTPPostmark: "Server API token",
				outbox.HTTPMailgun: "sending API key", outbox.HTTPSES: "ses:SendRawEmail", outbox.HTTPResend: "Sending access",
			}[p])
			require.NotContains(t, rep.Err.Error(), "wrong-key")
			require.Len(t, pv.srv.Mails(), 1)
		})
	}
}

func TestNativeProviderAnswers(t *testing.T) {
	t.Parallel()
	for _, p := range nativeProviders {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			pv := startProvider(t, p)
			send := func() *transport.Failure {
				t.Helper()
				_, err := transport.SendHTTP(context.Background(), pv.cfg, message())
				require.Error(t, err)
				return transport.Classify("", err)
			}

			pv.srv.Reject(http.StatusTooManyRequests, "Retry-After", "7")
			f := send()
			require.Equal(t, outbox.CategoryThrottled, f.Category)
			require.True(t, f.Throttled)
			require.Equal(t, 7*time.Second, f.RetryAfter)

			pv.srv.Reject(http.StatusInternalServerError)
			f = send()
			require.True(t, f.Temporary, "%+v", f)
			require.False(t, f.Throttled)

			status := http.StatusBadRequest
			if p == outbox.HTTPPostmark || p == outbox.HTTPResend {
				status = http.StatusUnprocessableEntity // their answer to a request they refuse
			}
			pv.srv.Reject(status)
			f = send()
			require.False(t, f.Temporary, "%+v", f)
			require.Equal(t, outbox.CategoryMessageRejected, f.Category)
			require.Equal(t, status, f.Code)
			require.Contains(t, f.Message, "refused with "+strconv.Itoa(status)+" by the test", "the provider's own words")

			require.Empty(t, pv.srv.Mails())
			_, err := transport.SendHTTP(context.Background(), pv.cfg, message())
			require.NoError(t, err, "accepted once the provider is fine again")
		})
	}
}

// TestSendGridRateLimitReset: SendGrid says when its window resets in
// X-RateLimit-Reset, a Unix time.
func TestSendGridRateLimitReset(t *testing.T) {
	t.Parallel()
	pv := startProvider(t, outbox.HTTPSendGrid)
	pv.srv.Reject(http.StatusTooManyRequests, "X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(30*time.Second).Unix(), 10))
	_, err := transport.SendHTTP(context.Background(), pv.cfg, message())
	f := transport.Classify("", err)
	require.Equal(t, outbox.CategoryThrottled, f.Category)
	require.InDelta(t, 30, f.RetryAfter.Seconds(), 2)
}

// TestNativeProvidersKeepTheAddressPolicy: no provider, SES through the AWS
// SDK included, connects to an address the policy refuses.
func TestNativeProvidersKeepTheAddressPolicy(t *testing.T) {
	t.Parallel()
	for _, p := range nativeProviders {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			pv := startProvider(t, p)
			cfg := pv.cfg
			cfg.AddrPolicy = transport.PublicAddrsOnly
			_, err := transport.SendHTTP(context.Background(), cfg, message())
			f := transport.Classify("", err)
			require.Equal(t, outbox.CategoryConfig, f.Category, "%+v", f)
			require.Contains(t, f.Message, "not allowed")
			rep := transport.TestHTTP(context.Background(), cfg, message())
			require.Equal(t, outbox.CategoryConfig, rep.Err.Category)
			require.Empty(t, pv.srv.Mails())
		})
	}
}

func TestNativeProviderConfig(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg  transport.HTTPConfig
		want string
	}{
		"no key":            {transport.HTTPConfig{Provider: outbox.HTTPSendGrid}, "API key"},
		"mailgun no domain": {transport.HTTPConfig{Provider: outbox.HTTPMailgun, AuthValue: "k"}, "Mailgun sending domain"},
		"mailgun region":    {transport.HTTPConfig{Provider: outbox.HTTPMailgun, AuthValue: "k", Domain: "mg.example.com", Region: "ASIA"}, "US or EU"},
		"ses region":        {transport.HTTPConfig{Provider: outbox.HTTPSES, AuthValue: "k", AccessKeyID: "AKIA1", Region: "Europe"}, "AWS region"},
		"ses key id":        {transport.HTTPConfig{Provider: outbox.HTTPSES, AuthValue: "k", Region: "eu-west-1"}, "access key id"},
	} {
		_, err := transport.SendHTTP(context.Background(), tc.cfg, message())
		f := transport.Classify("", err)
		require.Equal(t, outbox.CategoryConfig, f.Category, name)
		require.Contains(t, f.Message, tc.want, name)
	}
	require.Equal(t, "https://api.eu.mailgun.net", transport.NativeBaseURL(outbox.HTTPMailgun, "EU"))
	require.Equal(t, "https://email.eu-west-1.amazonaws.com", transport.NativeBaseURL(outbox.HTTPSES, "eu-west-1"))
}
