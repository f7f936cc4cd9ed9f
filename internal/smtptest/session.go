package smtptest

import (
	"fmt"
	"io"
	"slices"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var (
	errStartTLSFirst = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errAuthFirst     = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
)

// session is one go-smtp session: from the first EHLO of a connection (or the
// EHLO after STARTTLS) to its end.
type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{srv: s, conn: c}
	if err := sess.fault(StageEHLO, ""); err != nil {
		return nil, err
	}
	return sess, nil
}

// fault applies the fault armed for stage (and rcpt, for StageRcpt). It counts
// the command first, so that a faulted command is still counted.
func (sess *session) fault(stage Stage, rcpt string) error {
	sess.srv.count(stage)
	f, ok := sess.srv.takeFault(stage, rcpt)
	if !ok {
		return nil
	}
	switch f.Action {
	case Drop:
		sess.conn.Conn().Close()
		return errFault
	case Hang:
		<-sess.srv.closed
		return errFault
	default:
		return f.smtpError()
	}
}

func (sess *session) isTLS() bool {
	_, ok := sess.conn.TLSConnectionState()
	return ok
}

func (sess *session) needsStartTLS() bool {
	return sess.srv.opts.Security == SecurityStartTLSRequired && !sess.isTLS()
}

// AuthMechanisms lists the mechanisms offered in EHLO; none before STARTTLS
// when STARTTLS is required, as real submission servers do.
func (sess *session) AuthMechanisms() []string {
	if !sess.srv.authOn() || sess.needsStartTLS() {
		return nil
	}
	return sess.srv.opts.Mechanisms
}

// Auth starts a SASL exchange for mech.
func (sess *session) Auth(mech string) (sasl.Server, error) {
	if err := sess.fault(StageAuth, ""); err != nil {
		return nil, err
	}
	opts := sess.srv.opts
	if !sess.srv.authOn() {
		return nil, smtp.ErrAuthUnsupported
	}
	if sess.needsStartTLS() {
		return nil, errStartTLSFirst
	}
	if !slices.Contains(opts.Mechanisms, mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	creds := credentials{username: opts.Username, password: opts.Password, domain: opts.Domain}
	login := func(user string) { sess.user = user }
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return smtp.ErrAuthFailed
			}
			if !creds.check(username, password) {
				return smtp.ErrAuthFailed
			}
			login(username)
			return nil
		}), nil
	case "LOGIN":
		return &loginServer{creds: creds, login: login}, nil
	case "CRAM-MD5":
		return &cramMD5Server{creds: creds, login: login}, nil
	case "XOAUTH2":
		return &xoauth2Server{creds: creds, check: opts.CheckBearer, login: login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// Mail handles MAIL FROM.
func (sess *session) Mail(from string, _ *smtp.MailOptions) error {
	if err := sess.fault(StageMail, ""); err != nil {
		return err
	}
	if sess.needsStartTLS() {
		return errStartTLSFirst
	}
	if sess.srv.opts.RequireAuth && sess.user == "" {
		return errAuthFirst
	}
	sess.from = from
	return nil
}

// Rcpt handles RCPT TO.
func (sess *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := sess.fault(StageRcpt, to); err != nil {
		return err
	}
	sess.to = append(sess.to, to)
	return nil
}

// Data receives the message. The body is read before a DATA fault is applied,
// as a content filter would.
func (sess *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading message: %w", err)
	}
	if err := sess.fault(StageData, ""); err != nil {
		return err
	}
	sess.srv.addMessage(Message{
		From: sess.from,
		To:   append([]string(nil), sess.to...),
		Data: data,
		TLS:  sess.isTLS(),
		User: sess.user,
	})
	return nil
}

// Reset forgets the current transaction (RSET, re-EHLO, after DATA).
func (sess *session) Reset() {
	sess.from = ""
	sess.to = nil
}

// Logout ends the session.
func (sess *session) Logout() error { return nil }
