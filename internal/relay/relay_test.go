package relay_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/internal/transport"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func message() transport.Message {
	return transport.Message{
		FromName:  "Ünïcode Shop via Outbox",
		FromEmail: "notifications@outbox.localhost",
		To:        []string{"owner@example.com"},
		Bcc:       []string{"archive@example.com"},
		Subject:   "Vérifiez votre adresse",
		Text:      "Open https://outbox.example/verify?token=abc_DEF-123 to verify.\n",
		HTML:      `<p><a href="https://outbox.example/verify?token=abc_DEF-123">Verify</a></p>`,
		MessageID: "m1@outbox",
	}
}

func TestDevMailboxStoresWhatSMTPWouldCarry(t *testing.T) {
	t.Parallel()
	store := db.NewStore(dbtest.Pool(t))
	s, err := relay.New(&config.Config{PlatformFrom: "notifications@outbox.localhost"}, store, discard(), relay.Options{})
	require.NoError(t, err)
	require.Equal(t, "dev mailbox (/dev/mailbox)", fmt.Sprint(s))

	msg := message()
	att, err := s.Send(context.Background(), msg)
	require.NoError(t, err)
	require.Equal(t, relay.MailboxServer, att.Server)
	require.Equal(t, 250, att.Code)

	second := msg
	second.Subject, second.MessageID = "Second", "m2@outbox"
	_, err = s.Send(context.Background(), second)
	require.NoError(t, err)

	box := relay.NewMailbox(store)
	list, err := box.List(context.Background(), 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "Second", list[0].Subject, "newest first")
	got := list[1]
	require.Equal(t, "Vérifiez votre adresse", got.Subject)
	require.Equal(t, "m1@outbox", got.MessageID)
	require.Equal(t, "notifications@outbox.localhost", got.From)
	require.Equal(t, []string{"owner@example.com", "archive@example.com"}, got.To, "envelope recipients include Bcc")
	require.NotContains(t, got.Mail.To, "archive", "Bcc is not a header")
	require.Contains(t, got.Mail.From, "Ünïcode Shop via Outbox")
	require.Equal(t, msg.Text, got.Text)
	require.Equal(t, []string{"https://outbox.example/verify?token=abc_DEF-123"}, got.Links)

	raw, err := box.Raw(context.Background(), got.ID)
	require.NoError(t, err)
	require.Contains(t, string(raw), "\r\nMessage-ID: <m1@outbox>\r\n", "stored as SMTP carries it, CRLF and all")
	require.NotContains(t, string(raw), "archive@example.com", "Bcc is never written into the message")
	want, err := transport.Build(msg)
	require.NoError(t, err)
	wantMail, err := relay.ParseMail(want)
	require.NoError(t, err)
	require.Equal(t, wantMail, got.Mail)

	_, err = box.Raw(context.Background(), got.ID+100)
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err))
}

func TestDevMailboxRefusesAnInvalidMessage(t *testing.T) {
	t.Parallel()
	store := db.NewStore(dbtest.Pool(t))
	s, err := relay.New(&config.Config{}, store, discard(), relay.Options{})
	require.NoError(t, err)
	msg := message()
	msg.Subject = "Hello\r\nBcc: victim@example.com"
	_, err = s.Send(context.Background(), msg)
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, outbox.CategoryMessageRejected, f.Category)
	require.False(t, f.Temporary)
	list, err := relay.NewMailbox(store).List(context.Background(), 10)
	require.NoError(t, err)
	require.Empty(t, list)
}

func relayURL(srv *smtptest.Server, user, pass, security string) string {
	u := url.URL{Scheme: "smtp", Host: srv.Addr(), RawQuery: "security=" + security}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

func TestSMTPRelaySendsThroughTheServer(t *testing.T) {
	t.Parallel()
	const password = "relay-p@ss/word"
	srv := smtptest.Start(t, smtptest.Options{
		Security: smtptest.SecurityStartTLSRequired, Username: "platform", Password: password, RequireAuth: true,
	})
	cfg := &config.Config{PlatformSMTPURL: relayURL(srv, "platform", password, "starttls"), PlatformFrom: "n@outbox.example"}
	s, err := relay.New(cfg, nil, discard(), relay.Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.(io.Closer).Close()) })
	require.NotContains(t, fmt.Sprint(s), password)

	for i := range 2 {
		msg := message()
		msg.MessageID = fmt.Sprintf("m%d@outbox", i)
		att, err := s.Send(context.Background(), msg)
		require.NoError(t, err)
		require.Equal(t, 250, att.Code)
		require.Equal(t, srv.Addr(), att.Server)
		require.NotEmpty(t, att.TLSVersion)
	}
	got := srv.Messages()
	require.Len(t, got, 2)
	require.Equal(t, 1, srv.Connections(), "the relay reuses its connection")
	require.True(t, got[0].TLS)
	require.Equal(t, "platform", got[0].User)
	require.Equal(t, "notifications@outbox.localhost", got[0].From)
	mail, err := relay.ParseMail(got[0].Data)
	require.NoError(t, err)
	require.Equal(t, "Vérifiez votre adresse", mail.Subject)
	require.Equal(t, []string{"https://outbox.example/verify?token=abc_DEF-123"}, mail.Links)
}

func TestSMTPRelayFailuresAreClassified(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityImplicitTLS})
	s, err := relay.New(&config.Config{PlatformSMTPURL: relayURL(srv, "", "", "tls")}, nil, discard(), relay.Options{RootCAs: srv.RootCAs()})
	require.NoError(t, err)
	srv.SetFault(smtptest.Fault{Stage: smtptest.StageRcpt, Code: 550, EnhancedCode: "5.1.1", Message: "no such user", Times: 1})
	_, err = s.Send(context.Background(), message())
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, 550, f.Code)
	require.True(t, f.NoSuchUser)

	srv.SetFault(smtptest.Fault{Stage: smtptest.StageData, Code: 451, EnhancedCode: "4.7.1", Message: "slow down", Times: 1})
	_, err = s.Send(context.Background(), message())
	require.ErrorAs(t, err, &f)
	require.True(t, f.Temporary)

	_, err = s.Send(context.Background(), message())
	require.NoError(t, err)
}

func TestNewRefusesABadURLWithoutShowingThePassword(t *testing.T) {
	t.Parallel()
	_, err := relay.New(&config.Config{PlatformSMTPURL: "ftp://u:hunter2-secret@host"}, nil, discard(), relay.Options{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
	require.True(t, strings.HasPrefix(err.Error(), "OUTBOX_PLATFORM_SMTP_URL"), err.Error())
}
