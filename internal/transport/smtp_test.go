package transport_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/internal/transport"
)

func TestSendRecordsAttempt(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, serverOpts(smtptest.SecurityStartTLSRequired))
	att, err := transport.Send(context.Background(), config(srv, outbox.SecurityStartTLS, outbox.AuthPlain), message())
	require.NoError(t, err)
	require.Equal(t, srv.Addr(), att.Server)
	require.Equal(t, 250, att.Code)
	require.Equal(t, "2.0.0", att.EnhancedCode)
	require.Equal(t, "OK: queued", att.Reply)
	require.Equal(t, "TLS 1.3", att.TLSVersion)
	require.Positive(t, att.Duration)

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	require.True(t, msgs[0].TLS)
	require.Equal(t, testUser, msgs[0].User)
	require.Equal(t, 1, srv.Connections())
}

func TestSendRecipientRefused(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityImplicitTLS})
	srv.SetFault(smtptest.Fault{Stage: smtptest.StageRcpt, Code: 550, EnhancedCode: "5.1.1",
		Message: "No such user", Recipients: []string{"gone@example.net"}})

	msg := message()
	msg.To = []string{"buyer@example.net"}
	msg.Bcc = []string{"gone@example.net"}
	att, err := transport.Send(context.Background(), config(srv, outbox.SecurityImplicitTLS, outbox.AuthNone), msg)

	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, "RCPT", f.Step)
	require.Equal(t, outbox.CategoryRecipientRejected, f.Category)
	require.True(t, f.NoSuchUser)
	require.False(t, f.Temporary)
	require.Equal(t, "gone@example.net", f.Recipient)

	require.Equal(t, 550, att.Code)
	require.Equal(t, "5.1.1", att.EnhancedCode)
	require.Equal(t, "No such user", att.Reply)
	require.Equal(t, "TLS 1.3", att.TLSVersion)
	require.Equal(t, srv.Addr(), att.Server)
	require.Empty(t, srv.Messages())
}

func TestSendInvalidMessage(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	msg := message()
	msg.Subject = "Hi\r\nBcc: victim@example.org"
	_, err := transport.Send(context.Background(), config(srv, outbox.SecurityNone, outbox.AuthNone), msg)
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, outbox.CategoryMessageRejected, f.Category)
	require.Equal(t, "subject", outbox.AsError(err).Field)
	require.Zero(t, srv.Connections(), "nothing is sent for an invalid message")
}

// One CA, two servers, as a provider offers 587 (STARTTLS) and 465
// (implicit TLS) side by side: the same trust works for both.
func TestSendStartTLSAndImplicitTLSWithOneCA(t *testing.T) {
	t.Parallel()
	ca := smtptest.NewCA(t)
	submission := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityStartTLSRequired, CA: ca, Username: testUser, Password: testPassword})
	smtps := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityImplicitTLS, CA: ca, Username: testUser, Password: testPassword})
	require.NotEqual(t, submission.Port(), smtps.Port())

	for _, tc := range []struct {
		srv *smtptest.Server
		sec outbox.SMTPSecurity
	}{{submission, outbox.SecurityStartTLS}, {smtps, outbox.SecurityImplicitTLS}} {
		cfg := config(tc.srv, tc.sec, outbox.AuthPlain)
		cfg.Host = "localhost"
		cfg.RootCAs = ca.Pool()
		att, err := transport.Send(context.Background(), cfg, message())
		require.NoError(t, err, "%s", tc.sec)
		require.Equal(t, "TLS 1.3", att.TLSVersion)
		msgs := tc.srv.Messages()
		require.Len(t, msgs, 1)
		require.True(t, msgs[0].TLS)
		require.Equal(t, testUser, msgs[0].User)
	}

	// Each port speaks only its own security: crossing them fails clearly.
	cfg := config(submission, outbox.SecurityImplicitTLS, outbox.AuthPlain)
	cfg.RootCAs = ca.Pool()
	_, err := transport.Send(context.Background(), cfg, message())
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, "TLS", f.Step)
	require.Equal(t, outbox.CategoryTLS, f.Category)
	require.Contains(t, f.Hint, "465 uses implicit TLS")
}
