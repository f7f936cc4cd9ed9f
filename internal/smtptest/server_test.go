package smtptest_test

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/textproto"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/smtptest"
)

// client is a raw SMTP connection: the test sends exact command lines and
// checks exact reply codes, as mailpit's server tests do.
type client struct {
	t    *testing.T
	srv  *smtptest.Server
	conn net.Conn
	text *textproto.Conn
}

func dial(t *testing.T, srv *smtptest.Server, implicitTLS bool) *client {
	t.Helper()
	var conn net.Conn
	var err error
	if implicitTLS {
		conn, err = tls.Dial("tcp", srv.Addr(), &tls.Config{RootCAs: srv.RootCAs(), ServerName: "localhost"})
	} else {
		conn, err = net.Dial("tcp", srv.Addr())
	}
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// A deadline instead of a sleep: a broken server fails the test quickly.
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	c := &client{t: t, srv: srv, conn: conn, text: textproto.NewConn(conn)}
	return c
}

// expect reads one reply and checks its code; it returns the text.
func (c *client) expect(code int) string {
	c.t.Helper()
	got, msg, err := c.text.ReadResponse(0)
	require.NoError(c.t, err)
	require.Equal(c.t, code, got, "reply text: %s", msg)
	return msg
}

// cmd sends one line and checks the reply code; it returns the reply text.
func (c *client) cmd(line string, code int) string {
	c.t.Helper()
	require.NoError(c.t, c.text.PrintfLine("%s", line))
	return c.expect(code)
}

func (c *client) startTLS() {
	c.t.Helper()
	c.cmd("STARTTLS", 220)
	tc := tls.Client(c.conn, &tls.Config{RootCAs: c.srv.RootCAs(), ServerName: "localhost"})
	require.NoError(c.t, tc.Handshake())
	c.conn = tc
	c.text = textproto.NewConn(tc)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// line is one step of a script: a command and the reply code it must get.
// The pseudo commands "STARTTLS!" (upgrade the connection) and "BODY" (send a
// short message body after DATA) are run by the script runner.
type line struct {
	send string
	want int
}

func run(t *testing.T, c *client, script []line) {
	t.Helper()
	for _, l := range script {
		switch l.send {
		case "STARTTLS!":
			c.startTLS()
		case "BODY":
			require.NoError(t, c.text.PrintfLine("Subject: hi\r\n\r\nhello\r\n."))
			c.expect(l.want)
		default:
			c.cmd(l.send, l.want)
		}
	}
}

func TestServerCommands(t *testing.T) {
	t.Parallel()
	const user, pass = "shop@example.com", "app-password"
	send := []line{
		{"MAIL FROM:<shop@example.com>", 250},
		{"RCPT TO:<buyer@example.net>", 250},
		{"DATA", 354},
		{"BODY", 250},
	}
	tests := []struct {
		name   string
		opts   smtptest.Options
		tls    bool
		script []line
		// want is the number of messages the server must have captured.
		want int
	}{
		{
			name:   "plaintext without auth",
			script: append([]line{{"EHLO client.test", 250}}, append(send, line{"QUIT", 221})...),
			want:   1,
		},
		{
			name: "MAIL before EHLO and DATA before RCPT are refused",
			script: []line{
				{"MAIL FROM:<a@example.com>", 502},
				{"EHLO client.test", 250},
				{"DATA", 502},
				{"NOOP", 250},
				{"RSET", 250},
			},
		},
		{
			name: "auth required before MAIL",
			opts: smtptest.Options{Username: user, Password: pass, RequireAuth: true},
			script: append([]line{
				{"EHLO client.test", 250},
				{"MAIL FROM:<shop@example.com>", 530},
				{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass), 235},
			}, send...),
			want: 1,
		},
		{
			name: "PLAIN with a wrong password",
			opts: smtptest.Options{Username: user, Password: pass},
			script: []line{
				{"EHLO client.test", 250},
				{"AUTH PLAIN " + b64("\x00"+user+"\x00wrong"), 535},
			},
		},
		{
			name: "PLAIN without initial response",
			opts: smtptest.Options{Username: user, Password: pass},
			script: []line{
				{"EHLO client.test", 250},
				{"AUTH PLAIN", 334},
				{b64("\x00" + user + "\x00" + pass), 235},
				{"AUTH PLAIN", 503},
			},
		},
		{
			name: "LOGIN right and wrong",
			opts: smtptest.Options{Username: user, Password: pass},
			script: []line{
				{"EHLO client.test", 250},
				{"AUTH LOGIN", 334},
				{b64(user), 334},
				{b64("wrong"), 535},
				{"AUTH LOGIN " + b64(user), 334},
				{b64(pass), 235},
			},
		},
		{
			name: "LOGIN cancelled",
			opts: smtptest.Options{Username: user, Password: pass},
			script: []line{
				{"EHLO client.test", 250},
				{"AUTH LOGIN", 334},
				{"*", 501},
			},
		},
		{
			name: "mechanism not offered",
			opts: smtptest.Options{Username: user, Password: pass, Mechanisms: []string{"PLAIN"}},
			script: []line{
				{"EHLO client.test", 250},
				{"AUTH LOGIN", 504},
			},
		},
		{
			name: "AUTH on a server without auth",
			script: []line{
				{"EHLO client.test", 250},
				{"AUTH PLAIN " + b64("\x00a\x00b"), 502},
			},
		},
		{
			name: "XOAUTH2 right token",
			opts: smtptest.Options{Username: user, Password: "token-1"},
			script: []line{
				{"EHLO client.test", 250},
				{"AUTH XOAUTH2 " + b64("user="+user+"\x01auth=Bearer token-1\x01\x01"), 235},
			},
		},
		{
			name: "XOAUTH2 wrong token gets a JSON challenge, then 535",
			opts: smtptest.Options{Username: user, Password: "token-1"},
			script: []line{
				{"EHLO client.test", 250},
				{"AUTH XOAUTH2 " + b64("user="+user+"\x01auth=Bearer nope\x01\x01"), 334},
				{"", 535},
			},
		},
		{
			name: "STARTTLS required: AUTH and MAIL refused until TLS",
			opts: smtptest.Options{Security: smtptest.SecurityStartTLSRequired, Username: user, Password: pass},
			script: append([]line{
				{"EHLO client.test", 250},
				{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass), 530},
				{"MAIL FROM:<shop@example.com>", 530},
				{"STARTTLS!", 0},
				{"EHLO client.test", 250},
				{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass), 235},
			}, send...),
			want: 1,
		},
		{
			name: "STARTTLS optional",
			opts: smtptest.Options{Security: smtptest.SecurityStartTLS},
			script: append([]line{
				{"EHLO client.test", 250},
				{"STARTTLS!", 0},
				{"EHLO client.test", 250},
				{"STARTTLS", 502},
			}, send...),
			want: 1,
		},
		{
			name:   "implicit TLS",
			opts:   smtptest.Options{Security: smtptest.SecurityImplicitTLS},
			tls:    true,
			script: append([]line{{"EHLO client.test", 250}}, send...),
			want:   1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tt.opts)
			c := dial(t, srv, tt.tls)
			c.expect(220)
			run(t, c, tt.script)
			require.Len(t, srv.Messages(), tt.want)
		})
	}
}

func TestServerCapturesMessage(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{
		Security: smtptest.SecurityStartTLS, Username: "u", Password: "p",
	})
	c := dial(t, srv, false)
	c.expect(220)
	ehlo := c.cmd("EHLO client.test", 250)
	require.Contains(t, ehlo, "STARTTLS")
	require.Contains(t, ehlo, "AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2")
	c.startTLS()
	c.cmd("EHLO client.test", 250)
	c.cmd("AUTH PLAIN "+b64("\x00u\x00p"), 235)
	run(t, c, []line{
		{"MAIL FROM:<shop@example.com>", 250},
		{"RCPT TO:<a@example.net>", 250},
		{"RCPT TO:<b@example.net>", 250},
		{"DATA", 354},
		{"BODY", 250},
	})

	msgs, err := srv.Wait(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "shop@example.com", msgs[0].From)
	require.Equal(t, []string{"a@example.net", "b@example.net"}, msgs[0].To)
	require.Equal(t, "Subject: hi\r\n\r\nhello\r\n", string(msgs[0].Data))
	require.True(t, msgs[0].TLS)
	require.Equal(t, "u", msgs[0].User)
}

func TestServerCRAMMD5(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Username: "u", Password: "secret"})
	answer := func(challenge64, password string) string {
		challenge, err := base64.StdEncoding.DecodeString(challenge64)
		require.NoError(t, err)
		mac := hmac.New(md5.New, []byte(password))
		mac.Write(challenge)
		return b64("u " + hex.EncodeToString(mac.Sum(nil)))
	}
	c := dial(t, srv, false)
	c.expect(220)
	c.cmd("EHLO client.test", 250)
	challenge := c.cmd("AUTH CRAM-MD5", 334)
	c.cmd(answer(challenge, "wrong"), 535)
	challenge2 := c.cmd("AUTH CRAM-MD5", 334)
	require.NotEqual(t, challenge, challenge2, "every challenge must be fresh")
	c.cmd(answer(challenge2, "secret"), 235)
}

func TestServerFaults(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	srv.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Code: 451, EnhancedCode: "4.7.1", Message: "slow down", Times: 1})
	srv.SetFault(smtptest.Fault{Stage: smtptest.StageRcpt, Code: 550, EnhancedCode: "5.1.1", Message: "no such user", Recipients: []string{"Gone@example.net"}})
	srv.SetFault(smtptest.Fault{Stage: smtptest.StageData, Code: 554, EnhancedCode: "5.7.1", Message: "spam", Times: 1})

	c := dial(t, srv, false)
	c.expect(220)
	c.cmd("EHLO client.test", 250)
	require.Equal(t, "4.7.1 slow down", c.cmd("MAIL FROM:<a@example.com>", 451))
	c.cmd("MAIL FROM:<a@example.com>", 250)
	require.Equal(t, "5.1.1 no such user", c.cmd("RCPT TO:<gone@example.net>", 550))
	c.cmd("RCPT TO:<here@example.net>", 250)
	c.cmd("DATA", 354)
	require.NoError(t, c.text.PrintfLine("\r\nx\r\n."))
	require.Equal(t, "5.7.1 spam", c.expect(554))
	require.Empty(t, srv.Messages(), "a rejected message is not captured")

	// Times=1 faults are used up; the RCPT fault still holds.
	run(t, c, []line{
		{"MAIL FROM:<a@example.com>", 250},
		{"RCPT TO:<gone@example.net>", 550},
		{"RCPT TO:<here@example.net>", 250},
		{"DATA", 354},
		{"BODY", 250},
	})
	require.Len(t, srv.Messages(), 1)

	srv.ClearFaults()
	c.cmd("MAIL FROM:<a@example.com>", 250)
	c.cmd("RCPT TO:<gone@example.net>", 250)

	require.Equal(t, 1, srv.Connections())
	require.Equal(t, 4, srv.Count(smtptest.StageMail))
	require.Equal(t, 5, srv.Count(smtptest.StageRcpt))
	require.Equal(t, 2, srv.Count(smtptest.StageData))
}

func TestServerConnectFaults(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})

	srv.SetFault(smtptest.Fault{Stage: smtptest.StageConnect, Code: 421, EnhancedCode: "4.7.0", Message: "too many connections", Times: 1})
	c := dial(t, srv, false)
	require.Equal(t, "4.7.0 too many connections", c.expect(421))
	_, err := c.text.ReadLine()
	require.ErrorIs(t, err, io.EOF, "the server closes after the greeting fault")

	// The fault was used up: the next connection is greeted normally.
	c = dial(t, srv, false)
	c.expect(220)

	srv.SetFault(smtptest.Fault{Stage: smtptest.StageConnect, Action: smtptest.Hang})
	c = dial(t, srv, false)
	require.NoError(t, c.conn.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	_, err = c.text.ReadLine()
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "a hung server never greets")

	srv.SetFault(smtptest.Fault{Stage: smtptest.StageConnect, Action: smtptest.Drop})
	c = dial(t, srv, false)
	_, err = c.text.ReadLine()
	require.Error(t, err)

	require.Equal(t, 4, srv.Connections())
}

func TestServerDropAndHang(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	srv.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Action: smtptest.Drop})
	c := dial(t, srv, false)
	c.expect(220)
	c.cmd("EHLO client.test", 250)
	require.NoError(t, c.text.PrintfLine("MAIL FROM:<a@example.com>"))
	_, _, err := c.text.ReadResponse(0)
	require.Error(t, err, "the connection is dropped at MAIL")

	srv.SetFault(smtptest.Fault{Stage: smtptest.StageEHLO, Action: smtptest.Hang})
	c = dial(t, srv, false)
	c.expect(220)
	require.NoError(t, c.text.PrintfLine("EHLO client.test"))
	require.NoError(t, c.conn.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	_, _, err = c.text.ReadResponse(0)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	// Close must not wait for the hung session.
	srv.Close()
}

func TestServerSelfSigned(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityImplicitTLS, Cert: smtptest.CertSelfSigned})

	_, err := tls.Dial("tcp", srv.Addr(), &tls.Config{RootCAs: srv.RootCAs(), ServerName: "localhost"})
	var verr *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verr)

	conn, err := tls.Dial("tcp", srv.Addr(), &tls.Config{InsecureSkipVerify: true})
	require.NoError(t, err)
	defer conn.Close()
	code, _, err := textproto.NewConn(conn).ReadResponse(220)
	require.NoError(t, err)
	require.Equal(t, 220, code)
}

func TestServerWait(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := srv.Wait(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)

	done := make(chan []smtptest.Message)
	go func() {
		msgs, err := srv.Wait(context.Background(), 2)
		if err == nil {
			done <- msgs
		}
		close(done)
	}()
	for range 2 {
		c := dial(t, srv, false)
		c.expect(220)
		run(t, c, []line{
			{"EHLO client.test", 250},
			{"MAIL FROM:<a@example.com>", 250},
			{"RCPT TO:<b@example.net>", 250},
			{"DATA", 354},
			{"BODY", 250},
		})
	}
	require.Len(t, <-done, 2)
	require.Equal(t, 2, srv.Connections())
}

func TestDownRefusesAndClosesUntilUp(t *testing.T) {
	t.Parallel()
	for _, sec := range []smtptest.Security{smtptest.SecurityNone, smtptest.SecurityImplicitTLS} {
		srv := smtptest.Start(t, smtptest.Options{Security: sec})
		implicit := sec == smtptest.SecurityImplicitTLS
		open := dial(t, srv, implicit)
		open.expect(220)
		open.cmd("EHLO client.example", 250)

		srv.Down()
		srv.Down() // twice is harmless
		_, err := net.DialTimeout("tcp", srv.Addr(), 5*time.Second)
		require.Error(t, err, "a down server refuses connections")
		_, _, err = open.text.ReadResponse(0)
		require.Error(t, err, "a down server closes open connections")

		srv.Up()
		c := dial(t, srv, implicit)
		c.expect(220)
		c.cmd("EHLO client.example", 250)
		c.cmd("MAIL FROM:<a@example.com>", 250)
	}
}
