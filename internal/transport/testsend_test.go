package transport_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/internal/transport"
)

func TestTestSendPasses(t *testing.T) {
	t.Parallel()
	all := []string{"RESOLVE", "CONNECT", "EHLO", "TLS", "AUTH", "MAIL", "RCPT", "DATA"}
	tests := []struct {
		name      string
		server    smtptest.Options
		security  outbox.SMTPSecurity
		auth      outbox.SMTPAuth
		configure func(*transport.SMTPConfig)
		steps     []string
		tls       string
	}{
		{name: "STARTTLS with PLAIN", server: serverOpts(smtptest.SecurityStartTLSRequired),
			security: outbox.SecurityStartTLS, auth: outbox.AuthPlain, steps: all, tls: "TLS 1.3"},
		{name: "STARTTLS with LOGIN", server: serverOpts(smtptest.SecurityStartTLS),
			security: outbox.SecurityStartTLS, auth: outbox.AuthLogin, steps: all, tls: "TLS 1.3"},
		{name: "implicit TLS with CRAM-MD5", server: serverOpts(smtptest.SecurityImplicitTLS),
			security: outbox.SecurityImplicitTLS, auth: outbox.AuthCRAMMD5,
			steps: []string{"RESOLVE", "CONNECT", "TLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA"}, tls: "TLS 1.3"},
		{name: "implicit TLS with XOAUTH2", server: serverOpts(smtptest.SecurityImplicitTLS),
			security: outbox.SecurityImplicitTLS, auth: outbox.AuthXOAuth2,
			steps: []string{"RESOLVE", "CONNECT", "TLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA"}, tls: "TLS 1.3"},
		{name: "plaintext PLAIN to loopback", server: serverOpts(smtptest.SecurityNone),
			security: outbox.SecurityNone, auth: outbox.AuthPlain,
			steps: []string{"RESOLVE", "CONNECT", "EHLO", "AUTH", "MAIL", "RCPT", "DATA"}},
		{name: "plaintext without auth", server: smtptest.Options{},
			security: outbox.SecurityNone, auth: outbox.AuthNone,
			steps: []string{"RESOLVE", "CONNECT", "EHLO", "MAIL", "RCPT", "DATA"}},
		{name: "self-signed with skip verify", server: smtptest.Options{Security: smtptest.SecurityImplicitTLS, Cert: smtptest.CertSelfSigned},
			security: outbox.SecurityImplicitTLS, auth: outbox.AuthNone,
			configure: func(c *transport.SMTPConfig) { c.SkipTLSVerify = true },
			steps:     []string{"RESOLVE", "CONNECT", "TLS", "EHLO", "MAIL", "RCPT", "DATA"}, tls: "TLS 1.3"},
		{name: "host name localhost", server: smtptest.Options{Security: smtptest.SecurityStartTLS},
			security: outbox.SecurityStartTLS, auth: outbox.AuthNone,
			configure: func(c *transport.SMTPConfig) { c.Host = "localhost" },
			steps:     []string{"RESOLVE", "CONNECT", "EHLO", "TLS", "MAIL", "RCPT", "DATA"}, tls: "TLS 1.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tt.server)
			cfg := config(srv, tt.security, tt.auth)
			if tt.configure != nil {
				tt.configure(&cfg)
			}
			rep := transport.TestSend(context.Background(), cfg, message())
			require.Nil(t, rep.Err, "steps: %+v", rep.Steps)
			require.True(t, rep.Passed())
			require.Equal(t, tt.steps, stepNames(rep))
			for _, s := range rep.Steps {
				require.True(t, s.OK, s.Name)
				require.NotEmpty(t, s.Detail, s.Name)
				require.NotContains(t, s.Detail, testPassword)
			}
			require.Equal(t, tt.tls, rep.TLSVersion)
			require.Contains(t, rep.Steps[len(rep.Steps)-1].Detail, "250")

			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			require.Equal(t, tt.tls != "", msgs[0].TLS)
			if tt.auth != outbox.AuthNone {
				require.Equal(t, testUser, msgs[0].User)
			}
			if tt.configure != nil && cfg.SkipTLSVerify {
				require.Contains(t, rep.Steps[2].Detail, "certificate not verified")
			}
		})
	}
}

// failure is what a failing test send must report.
type failure struct {
	step      string
	category  outbox.ErrorCategory
	code      int
	enhanced  string
	hint      string // exact, or contained when hintPart is set
	hintPart  bool
	temporary bool
	throttled bool
}

func TestTestSendFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		server    smtptest.Options
		fault     *smtptest.Fault
		security  outbox.SMTPSecurity
		auth      outbox.SMTPAuth
		configure func(*transport.SMTPConfig, *testing.T)
		want      failure
	}{
		{name: "wrong password PLAIN", server: serverOpts(smtptest.SecurityStartTLS),
			security: outbox.SecurityStartTLS, auth: outbox.AuthPlain,
			configure: wrongPassword,
			want:      failure{step: "AUTH", category: outbox.CategoryAuthFailed, code: 535, enhanced: "5.7.8", hint: hintAuth}},
		{name: "wrong password LOGIN", server: serverOpts(smtptest.SecurityImplicitTLS),
			security: outbox.SecurityImplicitTLS, auth: outbox.AuthLogin,
			configure: wrongPassword,
			want:      failure{step: "AUTH", category: outbox.CategoryAuthFailed, code: 535, enhanced: "5.7.8", hint: hintAuth}},
		{name: "wrong password CRAM-MD5", server: serverOpts(smtptest.SecurityNone),
			security: outbox.SecurityNone, auth: outbox.AuthCRAMMD5,
			configure: wrongPassword,
			want:      failure{step: "AUTH", category: outbox.CategoryAuthFailed, code: 535, enhanced: "5.7.8", hint: hintAuth}},
		{name: "wrong token XOAUTH2", server: serverOpts(smtptest.SecurityStartTLS),
			security: outbox.SecurityStartTLS, auth: outbox.AuthXOAuth2,
			configure: wrongPassword,
			want:      failure{step: "AUTH", category: outbox.CategoryAuthFailed, code: 535, enhanced: "5.7.8", hint: hintAuth}},
		{name: "self-signed implicit TLS without skip verify",
			server:   smtptest.Options{Security: smtptest.SecurityImplicitTLS, Cert: smtptest.CertSelfSigned},
			security: outbox.SecurityImplicitTLS, auth: outbox.AuthNone,
			want: failure{step: "TLS", category: outbox.CategoryTLS, hint: hintCert}},
		{name: "self-signed STARTTLS without skip verify",
			server:   smtptest.Options{Security: smtptest.SecurityStartTLS, Cert: smtptest.CertSelfSigned},
			security: outbox.SecurityStartTLS, auth: outbox.AuthNone,
			want: failure{step: "TLS", category: outbox.CategoryTLS, hint: hintCert}},
		{name: "certificate for another host",
			server:   smtptest.Options{Security: smtptest.SecurityImplicitTLS, CertHosts: []string{"mail.example.com"}},
			security: outbox.SecurityImplicitTLS, auth: outbox.AuthNone,
			want: failure{step: "TLS", category: outbox.CategoryTLS, hint: hintCert}},
		{name: "system roots do not trust the test CA",
			server:   smtptest.Options{Security: smtptest.SecurityImplicitTLS},
			security: outbox.SecurityImplicitTLS, auth: outbox.AuthNone,
			configure: func(c *transport.SMTPConfig, _ *testing.T) { c.RootCAs = nil },
			want:      failure{step: "TLS", category: outbox.CategoryTLS, hint: hintCert}},
		{name: "STARTTLS chosen but not offered: no downgrade",
			server:   smtptest.Options{},
			security: outbox.SecurityStartTLS, auth: outbox.AuthNone,
			want: failure{step: "TLS", category: outbox.CategoryTLS, hint: "never falls back", hintPart: true}},
		{name: "530 must issue STARTTLS",
			server:   smtptest.Options{Security: smtptest.SecurityStartTLSRequired},
			security: outbox.SecurityNone, auth: outbox.AuthNone,
			want: failure{step: "MAIL", category: outbox.CategoryConfig, code: 530, enhanced: "5.7.0", hint: hintStartTLS}},
		{name: "login offered only after STARTTLS",
			server:   serverOpts(smtptest.SecurityStartTLSRequired),
			security: outbox.SecurityNone, auth: outbox.AuthPlain,
			want: failure{step: "AUTH", category: outbox.CategoryConfig, hint: hintStartTLS}},
		{name: "530 authentication required",
			server:   smtptest.Options{Username: testUser, Password: testPassword, RequireAuth: true},
			security: outbox.SecurityNone, auth: outbox.AuthNone,
			want: failure{step: "MAIL", category: outbox.CategoryConfig, code: 530, enhanced: "5.7.0", hint: "choose an auth method", hintPart: true}},
		{name: "mechanism not offered",
			server:   smtptest.Options{Username: testUser, Password: testPassword, Mechanisms: []string{"PLAIN"}},
			security: outbox.SecurityNone, auth: outbox.AuthLogin,
			want: failure{step: "AUTH", category: outbox.CategoryConfig, hint: "login method", hintPart: true}},
		{name: "XOAUTH2 never over plaintext, not even to loopback",
			server:   serverOpts(smtptest.SecurityNone),
			security: outbox.SecurityNone, auth: outbox.AuthXOAuth2,
			want: failure{step: "AUTH", category: outbox.CategoryConfig, hint: "bearer token", hintPart: true}},
		{name: "XOAUTH2 not offered after STARTTLS",
			server:   smtptest.Options{Security: smtptest.SecurityStartTLS, Username: testUser, Password: testPassword, Mechanisms: []string{"PLAIN", "LOGIN"}},
			security: outbox.SecurityStartTLS, auth: outbox.AuthXOAuth2,
			want: failure{step: "AUTH", category: outbox.CategoryConfig, hint: "XOAUTH2", hintPart: true}},
		{name: "server without AUTH",
			server:   smtptest.Options{},
			security: outbox.SecurityNone, auth: outbox.AuthPlain,
			want: failure{step: "AUTH", category: outbox.CategoryConfig, hint: "auth NONE", hintPart: true}},
		{name: "451 4.7.1 at MAIL is throttling",
			server: smtptest.Options{}, security: outbox.SecurityNone, auth: outbox.AuthNone,
			fault: &smtptest.Fault{Stage: smtptest.StageMail, Code: 451, EnhancedCode: "4.7.1", Message: "Try again later"},
			want:  failure{step: "MAIL", category: outbox.CategoryThrottled, code: 451, enhanced: "4.7.1", hint: "limiting", hintPart: true, temporary: true, throttled: true}},
		{name: "421 greeting is throttling",
			server: smtptest.Options{}, security: outbox.SecurityNone, auth: outbox.AuthNone,
			fault: &smtptest.Fault{Stage: smtptest.StageConnect, Code: 421, EnhancedCode: "4.7.0", Message: "Too many connections"},
			want:  failure{step: "EHLO", category: outbox.CategoryThrottled, code: 421, enhanced: "4.7.0", hint: "limiting", hintPart: true, temporary: true, throttled: true}},
		{name: "454 at AUTH is throttling",
			server: serverOpts(smtptest.SecurityNone), security: outbox.SecurityNone, auth: outbox.AuthPlain,
			fault: &smtptest.Fault{Stage: smtptest.StageAuth, Code: 454, EnhancedCode: "4.7.0", Message: "Temporary authentication failure"},
			want:  failure{step: "AUTH", category: outbox.CategoryThrottled, code: 454, enhanced: "4.7.0", hint: "limiting", hintPart: true, temporary: true, throttled: true}},
		{name: "535 injected at AUTH",
			server: serverOpts(smtptest.SecurityNone), security: outbox.SecurityNone, auth: outbox.AuthPlain,
			fault: &smtptest.Fault{Stage: smtptest.StageAuth, Code: 535, EnhancedCode: "5.7.8", Message: "Username and Password not accepted"},
			want:  failure{step: "AUTH", category: outbox.CategoryAuthFailed, code: 535, enhanced: "5.7.8", hint: hintAuth}},
		{name: "550 5.1.1 at RCPT",
			server: smtptest.Options{}, security: outbox.SecurityNone, auth: outbox.AuthNone,
			fault: &smtptest.Fault{Stage: smtptest.StageRcpt, Code: 550, EnhancedCode: "5.1.1", Message: "No such user"},
			want:  failure{step: "RCPT", category: outbox.CategoryRecipientRejected, code: 550, enhanced: "5.1.1", hint: "does not exist", hintPart: true}},
		{name: "554 5.7.1 at DATA",
			server: smtptest.Options{}, security: outbox.SecurityNone, auth: outbox.AuthNone,
			fault: &smtptest.Fault{Stage: smtptest.StageData, Code: 554, EnhancedCode: "5.7.1", Message: "Message rejected as spam"},
			want:  failure{step: "DATA", category: outbox.CategoryMessageRejected, code: 554, enhanced: "5.7.1", hint: "spam", hintPart: true}},
		{name: "connection dropped at DATA",
			server: smtptest.Options{}, security: outbox.SecurityNone, auth: outbox.AuthNone,
			fault: &smtptest.Fault{Stage: smtptest.StageData, Action: smtptest.Drop},
			want:  failure{step: "DATA", category: outbox.CategoryConnection, hint: "try again", hintPart: true, temporary: true}},
		{name: "server never greets",
			server: smtptest.Options{}, security: outbox.SecurityNone, auth: outbox.AuthNone,
			fault:     &smtptest.Fault{Stage: smtptest.StageConnect, Action: smtptest.Hang},
			configure: shortTimeout,
			want:      failure{step: "EHLO", category: outbox.CategoryTimeout, hint: "465 uses implicit TLS", hintPart: true, temporary: true}},
		{name: "server hangs after DATA",
			server: smtptest.Options{}, security: outbox.SecurityNone, auth: outbox.AuthNone,
			fault:     &smtptest.Fault{Stage: smtptest.StageData, Action: smtptest.Hang},
			configure: shortTimeout,
			want:      failure{step: "DATA", category: outbox.CategoryTimeout, hint: "stopped answering", hintPart: true, temporary: true}},
		{name: "closed port",
			server: smtptest.Options{}, security: outbox.SecurityNone, auth: outbox.AuthNone,
			configure: func(c *transport.SMTPConfig, t *testing.T) { c.Port = closedPort(t) },
			want:      failure{step: "CONNECT", category: outbox.CategoryConnection, hint: hintConnect, temporary: true}},
		{name: "implicit TLS against a plaintext server",
			server: smtptest.Options{}, security: outbox.SecurityImplicitTLS, auth: outbox.AuthNone,
			want: failure{step: "TLS", category: outbox.CategoryTLS, hint: "465 uses implicit TLS", hintPart: true}},
		{name: "STARTTLS against an implicit TLS port",
			server: smtptest.Options{Security: smtptest.SecurityImplicitTLS}, security: outbox.SecurityStartTLS, auth: outbox.AuthNone,
			configure: shortTimeout,
			want:      failure{step: "EHLO", category: outbox.CategoryTimeout, hint: "465 uses implicit TLS", hintPart: true, temporary: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tt.server)
			if tt.fault != nil {
				srv.SetFault(*tt.fault)
			}
			cfg := config(srv, tt.security, tt.auth)
			if tt.configure != nil {
				tt.configure(&cfg, t)
			}
			rep := transport.TestSend(context.Background(), cfg, message())
			requireFailure(t, rep, tt.want)
			require.Empty(t, srv.Messages())
		})
	}
}

func requireFailure(t *testing.T, rep transport.Report, want failure) {
	t.Helper()
	f := rep.Err
	require.NotNil(t, f, "steps: %+v", rep.Steps)
	require.False(t, rep.Passed())
	last := rep.Steps[len(rep.Steps)-1]
	require.Equal(t, want.step, last.Name, "steps: %+v", rep.Steps)
	require.False(t, last.OK)
	require.NotEmpty(t, last.Detail)
	for _, s := range rep.Steps[:len(rep.Steps)-1] {
		require.True(t, s.OK, "only the last step fails: %+v", rep.Steps)
	}
	require.Equal(t, want.step, f.Step)
	require.Equal(t, want.category, f.Category, "failure: %v", f)
	require.Equal(t, want.code, f.Code, "failure: %v", f)
	require.Equal(t, want.enhanced, f.EnhancedCode, "failure: %v", f)
	if want.hintPart {
		require.Contains(t, f.Hint, want.hint)
	} else {
		require.Equal(t, want.hint, f.Hint)
	}
	require.Equal(t, want.temporary, f.Temporary, "failure: %v", f)
	require.Equal(t, want.throttled, f.Throttled, "failure: %v", f)
	require.NotEmpty(t, f.Message)
	require.NotContains(t, f.Error(), testPassword)
	require.NotContains(t, last.Detail, "wrong-password")
}

func wrongPassword(c *transport.SMTPConfig, _ *testing.T) { c.Password = "wrong-password" }

func shortTimeout(c *transport.SMTPConfig, _ *testing.T) { c.Timeout = 200 * time.Millisecond }

func TestTestSendRejectsBeforeConnecting(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})

	cfg := config(srv, outbox.SecurityNone, outbox.AuthNone)
	cfg.Port = 0
	rep := transport.TestSend(context.Background(), cfg, message())
	require.Empty(t, rep.Steps)
	require.Equal(t, outbox.CategoryConfig, rep.Err.Category)
	require.Equal(t, "", rep.Err.Step)

	cfg = config(srv, outbox.SecurityNone, outbox.AuthPlain)
	cfg.Password = ""
	rep = transport.TestSend(context.Background(), cfg, message())
	require.Equal(t, outbox.CategoryConfig, rep.Err.Category)

	msg := message()
	msg.FromName = "Shop\r\nBcc: victim@example.org"
	rep = transport.TestSend(context.Background(), config(srv, outbox.SecurityNone, outbox.AuthNone), msg)
	require.Empty(t, rep.Steps)
	require.Equal(t, outbox.CategoryMessageRejected, rep.Err.Category)
	require.Equal(t, outbox.EINVALID, outbox.ErrorCode(rep.Err))
	require.Equal(t, "fromName", outbox.AsError(rep.Err).Field)

	require.Zero(t, srv.Connections())
}

func TestTestSendHonoursContext(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	srv.SetFault(smtptest.Fault{Stage: smtptest.StageConnect, Action: smtptest.Hang})

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the server holds the connection, not after a sleep.
		for srv.Connections() == 0 {
			select {
			case <-time.After(time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
		cancel()
	}()
	rep := transport.TestSend(ctx, config(srv, outbox.SecurityNone, outbox.AuthNone), message())
	require.NotNil(t, rep.Err)
	// The server has accepted, so the client is connecting or waiting for
	// the greeting; without cancellation it would wait DefaultTestTimeout.
	require.Contains(t, []string{"CONNECT", "EHLO"}, rep.Err.Step)
	require.True(t, errors.Is(rep.Err, context.Canceled), "%v", rep.Err)
	require.True(t, rep.Err.Temporary)
}
