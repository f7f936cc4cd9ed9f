package sender

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/transport"
)

// RunTest performs the test send of one stored draft: it claims the test,
// sends a real message to the test recipient through a one-off connection
// (never the shared delivery pool) recording each step, and stores the
// outcome with the test message's status and attempt in one transaction. A
// test that already finished is left alone. The returned error is for River
// (a database failure worth retrying); a failed send is an outcome, not an
// error.
func (s *Service) RunTest(ctx context.Context, tenantID, testID uuid.UUID) error {
	tenant, err := s.store.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	var test outbox.SenderTest
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		test, err = tx.SenderTestStart(ctx, tenantID, testID)
		if err != nil {
			return err
		}
		if err := tx.NotifySenderTest(ctx, tenantID, testID); err != nil {
			return err
		}
		_, err = tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenantID, MessageID: test.MessageID, Status: outbox.StatusSending, Detail: "test send started"})
		return err
	})
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return nil // finished already (a retried job after a crash that came too late)
	}
	if err != nil {
		return err
	}

	settings, err := s.decodeDraft(tenant, test.Settings, test.Secret)
	if err != nil {
		return err
	}
	msg := transport.Message{
		FromName:  settings.FromName,
		FromEmail: settings.FromEmail,
		ReplyTo:   settings.ReplyTo,
		To:        []string{test.TestRecipient},
		Subject:   testSubject,
		Text:      testBody(tenant),
		MessageID: test.MessageID.String() + "@outbox",
	}
	start := time.Now()
	report := s.sendTest(ctx, tenant, settings, msg)
	if report.Err == nil && s.domainSteps != nil {
		report.Steps = append(report.Steps, s.domainSteps(ctx, settings.FromEmail)...)
	}
	return s.finishTest(ctx, tenant, test, report, start)
}

func (s *Service) sendTest(ctx context.Context, tenant outbox.Tenant, settings Settings, msg transport.Message) transport.Report {
	if c := settings.HTTP; c != nil {
		cfg := HTTPConfig(c)
		cfg.Timeout, cfg.AddrPolicy = s.testTimeout, s.addrs
		return transport.TestHTTP(ctx, cfg, msg)
	}
	c := *settings.SMTP
	if c.OAuthConnection != "" {
		start := time.Now()
		token, email, err := s.accessToken(ctx, tenant, c.OAuthConnection)
		if err != nil {
			f := transport.Classify(transport.StepAuth, err)
			return transport.Report{
				Server: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Err: f,
				Steps: []transport.Step{{Name: transport.StepAuth, Duration: time.Since(start), Detail: f.Reply()}},
			}
		}
		c.Username, c.Password = email, token
	}
	report := transport.TestSend(ctx, transport.SMTPConfig{
		Host: c.Host, Port: c.Port, Security: c.Security, Auth: c.Auth, Username: c.Username,
		Password: c.Password, SkipTLSVerify: c.SkipTLSVerify, RootCAs: s.rootCAs, Timeout: s.testTimeout,
		AddrPolicy: s.addrs,
	}, msg)
	if c.OAuthConnection != "" && report.Err != nil && report.Err.Category == outbox.CategoryAuthFailed {
		RefusedToken(report.Err)
		s.ForgetAccessToken(&c)
	}
	return report
}

// ReconnectHint is the hint of a login failure that connecting the
// mailbox again fixes.
const ReconnectHint = "connect the mailbox again (startOAuthConnection), then test and save the sender settings"

// RefusedToken rewrites the hint of a server's refusal of an OAuth access
// token: there is no password to fix, only the connection.
func RefusedToken(f *transport.Failure) {
	f.Hint = "the server refused the OAuth access token: check that SMTP AUTH is enabled for the mailbox, or " + ReconnectHint
}

// accessToken is an access token of the tenant's OAuth connection id and
// its account; the error is a *transport.Failure.
func (s *Service) accessToken(ctx context.Context, tenant outbox.Tenant, id string) (string, string, error) {
	connID, err := uuid.Parse(id)
	if err != nil || s.oauth == nil {
		return "", "", &transport.Failure{
			Category: outbox.CategoryConfig, Step: transport.StepAuth,
			Message: "OAuth connections are not set up on this server", Hint: "ask the operator to configure OUTBOX_OAUTH_*",
		}
	}
	return s.oauth.AccessToken(ctx, tenant.ID, connID)
}

// AccessToken is what the delivery worker logs in with for settings whose
// SMTP block uses an OAuth connection: a live access token and the
// account's address. The error is a *transport.Failure (AUTH_FAILED with
// a reconnect hint when the grant is gone).
func (s *Service) AccessToken(ctx context.Context, tenant outbox.Tenant, c *SMTP) (token, email string, err error) {
	return s.accessToken(ctx, tenant, c.OAuthConnection)
}

// ForgetAccessToken drops the cached access token of c's OAuth connection
// after its server refused it, so that the next send gets a fresh one.
func (s *Service) ForgetAccessToken(c *SMTP) {
	if id, err := uuid.Parse(c.OAuthConnection); err == nil && s.oauth != nil {
		s.oauth.Forget(id)
	}
}

func (s *Service) finishTest(ctx context.Context, tenant outbox.Tenant, test outbox.SenderTest, report transport.Report, start time.Time) error {
	steps := make([]Step, len(report.Steps))
	for i, st := range report.Steps {
		steps[i] = Step{Name: st.Name, OK: st.OK, DurationMs: int(st.Duration.Milliseconds()), Detail: st.Detail}
	}
	stepsJSON, err := jsonBytes(steps)
	if err != nil {
		return err
	}
	status, msgStatus := TestPassed, outbox.StatusSent
	attempt := &outbox.Attempt{
		At: start, Duration: time.Since(start), Server: report.Server, TLSVersion: report.TLSVersion,
		ProviderMessageID: report.ProviderMessageID,
	}
	var deliveryErr *outbox.DeliveryError
	var errJSON []byte
	if f := report.Err; f != nil {
		status, msgStatus = TestFailed, outbox.StatusFailed
		deliveryErr = DeliveryErrorOf(f)
		attempt.Code, attempt.EnhancedCode, attempt.Reply, attempt.Category = f.Code, f.EnhancedCode, f.Message, f.Category
		if errJSON, err = jsonBytes(deliveryErr); err != nil {
			return err
		}
	} else if n := len(report.Steps); n > 0 {
		attempt.Reply = report.Steps[n-1].Detail
	}
	return s.store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.SenderTestFinish(ctx, tenant.ID, test.ID, string(status), stepsJSON, errJSON); err != nil {
			return err
		}
		if err := tx.NotifySenderTest(ctx, tenant.ID, test.ID); err != nil {
			return err
		}
		_, err := tx.SetMessageStatus(ctx, db.StatusChange{
			TenantID: tenant.ID, MessageID: test.MessageID, Status: msgStatus, Error: deliveryErr,
			Attempt: attempt, Detail: "test send " + string(status),
		})
		return err
	})
}

// HTTPConfig is the transport's configuration of c, without the timeout,
// client and address policy, which are the caller's.
func HTTPConfig(c *HTTPAPI) transport.HTTPConfig {
	return transport.HTTPConfig{
		Provider: c.Provider, URL: c.URL, AuthHeader: c.AuthHeader, AuthValue: c.AuthValue,
		Domain: c.Domain, Region: c.Region, AccessKeyID: c.AccessKeyID,
	}
}

// DeliveryErrorOf turns a transport failure into what the tenant sees.
func DeliveryErrorOf(f *transport.Failure) *outbox.DeliveryError {
	return &outbox.DeliveryError{Category: f.Category, Code: f.Code, EnhancedCode: f.EnhancedCode, Message: f.Message, Hint: f.Hint}
}

func testBody(tenant outbox.Tenant) string {
	return "This is a test message from Outbox for " + tenant.Name + ".\n\n" +
		"It was sent to check your sender settings. If you can read it, they work:\n" +
		"you can now save them.\n"
}
