package smtptest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// Stage is a point in the SMTP conversation where a fault can be injected and
// where the server counts commands.
type Stage string

// The stages, in the order a client meets them.
const (
	// StageConnect is the TCP accept and the 220 greeting. Its count is the
	// number of connections accepted.
	StageConnect Stage = "CONNECT"
	// StageEHLO is the first EHLO or HELO of a connection and the one that
	// follows STARTTLS (each starts a new go-smtp session); an EHLO repeated
	// on the same session is not counted and cannot fail.
	StageEHLO Stage = "EHLO"
	// StageAuth is the AUTH command, before any SASL exchange.
	StageAuth Stage = "AUTH"
	// StageMail is the MAIL FROM command.
	StageMail Stage = "MAIL"
	// StageRcpt is each RCPT TO command.
	StageRcpt Stage = "RCPT"
	// StageData is the reply after the message body: the 354 that invites the
	// body is always sent, a fault replaces the final 250.
	StageData Stage = "DATA"
)

// Action is what a fault does instead of the normal reply.
type Action int

const (
	// Reply answers with the fault's Code, EnhancedCode and Message. It is the
	// default.
	Reply Action = iota
	// Drop closes the connection without answering.
	Drop
	// Hang never answers and keeps the connection open until the server is
	// closed. At StageConnect the server accepts TCP but never greets, which
	// is what a client's timeout tests need.
	Hang
)

// Fault makes one stage misbehave. The zero Times applies the fault to every
// command at that stage until it is cleared.
type Fault struct {
	Stage  Stage
	Action Action
	// Code is the reply code, for example 451, 535 or 550.
	Code int
	// EnhancedCode is the RFC 3463 code such as "4.7.1"; empty sends the
	// generic X.0.0 go-smtp derives from Code.
	EnhancedCode string
	// Message is the reply text; empty sends "injected fault".
	Message string
	// Times limits the fault to the next Times commands at Stage (commands
	// skipped by Recipients do not count). Zero means until cleared.
	Times int
	// Recipients limits a StageRcpt fault to these addresses (compared
	// without regard to case). Empty means every recipient.
	Recipients []string
}

// faultState is a fault as armed on a server, with its remaining uses.
type faultState struct {
	Fault
	code      smtp.EnhancedCode
	remaining int // < 0: unlimited
}

// errFault is returned to go-smtp when a fault dropped or hung a command; the
// connection is gone by then, so its text is never seen by a client.
var errFault = errors.New("smtptest: injected fault")

// SetFault arms f, replacing any fault armed for the same stage. It is safe to
// call while clients are connected. A malformed EnhancedCode fails the test.
func (s *Server) SetFault(f Fault) {
	code := smtp.EnhancedCodeNotSet
	if f.EnhancedCode != "" {
		c, err := parseEnhancedCode(f.EnhancedCode)
		if err != nil {
			s.t.Errorf("smtptest: SetFault: %v", err)
			return
		}
		code = c
	}
	if f.Message == "" {
		f.Message = "injected fault"
	}
	st := &faultState{Fault: f, code: code, remaining: -1}
	if f.Times > 0 {
		st.remaining = f.Times
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f.Stage] = st
}

// ClearFaults disarms every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault returns the fault armed for stage, if it applies to rcpt, and uses
// one of its remaining times.
func (s *Server) takeFault(stage Stage, rcpt string) (*faultState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults[stage]
	if f == nil {
		return nil, false
	}
	if stage == StageRcpt && len(f.Recipients) > 0 && !containsFold(f.Recipients, rcpt) {
		return nil, false
	}
	if f.remaining > 0 {
		f.remaining--
		if f.remaining == 0 {
			delete(s.faults, stage)
		}
	}
	return f, true
}

func (f *faultState) smtpError() *smtp.SMTPError {
	return &smtp.SMTPError{Code: f.Code, EnhancedCode: f.code, Message: f.Message}
}

// replyLine is the fault as one SMTP reply line, for the greeting, which
// go-smtp does not let a backend change.
func (f *faultState) replyLine() string {
	if f.code == smtp.EnhancedCodeNotSet {
		return fmt.Sprintf("%d %s\r\n", f.Code, f.Message)
	}
	return fmt.Sprintf("%d %d.%d.%d %s\r\n", f.Code, f.code[0], f.code[1], f.code[2], f.Message)
}

func parseEnhancedCode(s string) (smtp.EnhancedCode, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return smtp.EnhancedCode{}, fmt.Errorf("enhanced code %q is not of the form X.Y.Z", s)
	}
	var code smtp.EnhancedCode
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 {
			return smtp.EnhancedCode{}, fmt.Errorf("enhanced code %q is not of the form X.Y.Z", s)
		}
		code[i] = n
	}
	return code, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// faultListener counts accepted connections and applies StageConnect faults
// before go-smtp sees a connection, because go-smtp always greets with 220.
type faultListener struct {
	net.Listener
	srv *Server
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.srv.count(StageConnect)
		f, ok := l.srv.takeFault(StageConnect, "")
		if !ok {
			return c, nil
		}
		if !l.srv.hold(c) {
			c.Close()
			continue
		}
		l.srv.wg.Add(1)
		go func() {
			defer l.srv.wg.Done()
			defer l.srv.release(c)
			switch f.Action {
			case Reply:
				// The write fails harmlessly if the client has gone.
				_, _ = c.Write([]byte(f.replyLine()))
			case Hang:
				<-l.srv.closed
			case Drop:
			}
		}()
	}
}
