package transport_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/internal/transport"
)

// The hints word for word: the web app shows them.
const (
	hintAuth     = "wrong username or app password; Gmail and Microsoft 365 need an app password once 2-step verification is on"
	hintCert     = "use the provider's host name (as on the certificate), or for a self-signed server tick 'skip TLS certificate verification'"
	hintStartTLS = "the server wants STARTTLS: choose STARTTLS (usually port 587)"
	hintConnect  = "check host and port; a firewall may block it"
)

const (
	testUser     = "shop@example.com"
	testPassword = "app-password-1234"
)

// message returns a small valid message to buyer@example.net.
func message() transport.Message {
	return transport.Message{
		FromName:  "Shop",
		FromEmail: "shop@example.com",
		To:        []string{"buyer@example.net"},
		Subject:   "Test",
		Text:      "hello",
		MessageID: "test-1@outbox.test",
	}
}

// config returns an SMTPConfig for srv that trusts srv's CA and logs in
// with the server's credentials.
func config(srv *smtptest.Server, sec outbox.SMTPSecurity, auth outbox.SMTPAuth) transport.SMTPConfig {
	return transport.SMTPConfig{
		Host:     srv.Host(),
		Port:     srv.Port(),
		Security: sec,
		Auth:     auth,
		Username: testUser,
		Password: testPassword,
		RootCAs:  srv.RootCAs(),
	}
}

// serverOpts returns options for a server that accepts testUser.
func serverOpts(sec smtptest.Security) smtptest.Options {
	return smtptest.Options{Security: sec, Username: testUser, Password: testPassword}
}

// closedPort returns a port nothing listens on: it listens and closes.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// stepNames lists the names of a report's steps.
func stepNames(rep transport.Report) []string {
	names := make([]string, len(rep.Steps))
	for i, s := range rep.Steps {
		names[i] = s.Name
	}
	return names
}
