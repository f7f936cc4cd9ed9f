package sender

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
)

// TestMaxAge is how long a passed test can be saved.
const TestMaxAge = time.Hour

// TestStatus is where a test send is.
type TestStatus string

// The test statuses.
const (
	TestPending TestStatus = "PENDING"
	TestRunning TestStatus = "RUNNING"
	TestPassed  TestStatus = "PASSED"
	TestFailed  TestStatus = "FAILED"
)

// Test is one test send of draft settings.
type Test struct {
	ID         uuid.UUID
	Status     TestStatus
	Steps      []Step
	Error      *outbox.DeliveryError
	MessageID  uuid.UUID
	CreatedAt  time.Time
	FinishedAt *time.Time
}

// Step is one step of a test send (RESOLVE, CONNECT, TLS, EHLO, AUTH, MAIL,
// RCPT, DATA) as the tenant sees it.
type Step struct {
	Name       string `json:"name"`
	OK         bool   `json:"ok"`
	DurationMs int    `json:"durationMs"`
	Detail     string `json:"detail,omitempty"`
}

// TestJobArgs is the River job that runs one test send.
type TestJobArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	TestID   uuid.UUID `json:"test_id"`
}

// Kind is the River job kind.
func (TestJobArgs) Kind() string { return "sender_test" }

// InsertOpts gives a test a few attempts only to survive a worker crash:
// a test that ran reports its outcome, it is never retried.
func (TestJobArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// JobInserter inserts River jobs in a transaction; *river.Client is one.
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// StartTest validates draft settings for the sender key ("" for the
// default sender), stores them (secret sealed) as that sender's latest
// draft, and enqueues a test send to testRecipient, all in one
// transaction. An SMTP password or HTTP auth value left empty means "keep
// the stored one". Errors are EINVALID with the field at fault (or
// "sender"), EFORBIDDEN for a sender the caller may not change, and
// EFORBIDDEN with ReasonNotEntitled for a mode the plan does not include.
func (s *Service) StartTest(ctx context.Context, key string, draft Settings, testRecipient string) (Test, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Test{}, err
	}
	switch draft.Mode {
	case outbox.ModePlatform:
		return Test{}, outbox.Invalid("mode", "PLATFORM mode needs no test: switch to it with useDefaultSender, and set the display name, reply-to, contact, BCC and archive addresses with updateSenderProfile")
	case outbox.ModeBranded:
		return Test{}, outbox.Invalid("mode", "BRANDED mode needs no test: verify the address with requestSenderVerification, and set the display name, reply-to, contact, BCC and archive addresses with updateSenderProfile")
	}
	stored, err := s.lookup(ctx, tenant, key)
	if err != nil {
		return Test{}, err
	}
	if err := mayChange(ctx, stored); err != nil {
		return Test{}, err
	}
	if err := s.CheckEntitled(tenant, draft.Mode); err != nil {
		return Test{}, err
	}
	recipient, err := mailaddr.Normalize("testRecipient", testRecipient)
	if err != nil {
		return Test{}, err
	}
	if err := s.fillStoredSecret(tenant, stored, &draft); err != nil {
		return Test{}, err
	}
	if err := draft.Normalize(); err != nil {
		return Test{}, err
	}
	if err := s.fillOAuthAccount(ctx, tenant, stored.Key, &draft); err != nil {
		return Test{}, err
	}
	fingerprint := Fingerprint(s.keyring, draft)
	encoded, sealed, err := s.encodeDraft(tenant, draft)
	if err != nil {
		return Test{}, err
	}

	var test Test
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		msg, err := tx.MessageInsert(ctx, outbox.Message{
			TenantID: tenant.ID, Sender: stored.Key, Kind: outbox.KindTest, From: mailaddr.Format(draft.FromName, draft.FromEmail),
			To: []string{recipient}, Subject: testSubject,
		}, []byte("{}"))
		if err != nil {
			return fmt.Errorf("recording test message: %w", err)
		}
		row, err := tx.SenderTestInsert(ctx, outbox.SenderTest{
			TenantID: tenant.ID, Sender: stored.Key, Settings: encoded, Secret: sealed,
			Fingerprint: fingerprint, TestRecipient: recipient, MessageID: msg.ID,
		})
		if err != nil {
			return err
		}
		if err := tx.SenderDraftUpsert(ctx, outbox.SenderDraft{TenantID: tenant.ID, Sender: stored.Key, TestID: row.ID, Fingerprint: fingerprint}); err != nil {
			return err
		}
		if err := tx.NotifySenderTest(ctx, tenant.ID, row.ID); err != nil {
			return err
		}
		if _, err := tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenant.ID, MessageID: msg.ID, Status: outbox.StatusQueued, Detail: "test send queued"}); err != nil {
			return err
		}
		job, err := s.jobs.InsertTx(ctx, tx, TestJobArgs{TenantID: tenant.ID, TestID: row.ID}, nil)
		if err != nil {
			return fmt.Errorf("enqueueing sender test: %w", err)
		}
		if err := tx.MessageSetJob(ctx, tenant.ID, msg.ID, job.Job.ID); err != nil {
			return fmt.Errorf("linking test job: %w", err)
		}
		test, err = testFromRow(row)
		return err
	})
	return test, err
}

// Test returns one of the tenant's tests; ENOTFOUND when there is none with
// that id for this tenant.
func (s *Service) Test(ctx context.Context, id uuid.UUID) (Test, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Test{}, err
	}
	row, err := s.store.SenderTestGet(ctx, tenant.ID, id)
	if err != nil {
		return Test{}, err
	}
	return testFromRow(row)
}

// fillStoredSecret puts the SMTP password (or HTTP auth value) stored in
// row, the sender's settings, into a draft that left it empty, but only for the server the secret was given
// for: the same SMTP host, port, security and username, or the same HTTP API
// host and header. For another server it returns EINVALID on smtp.password
// (http.authValue), so that nobody can send a stored password to a server of
// their choosing.
func (s *Service) fillStoredSecret(tenant outbox.Tenant, row outbox.SenderSettings, draft *Settings) error {
	needs := (draft.SMTP != nil && draft.SMTP.Password == "" && draft.SMTP.Auth != outbox.AuthNone && draft.SMTP.OAuthConnection == "") ||
		(draft.HTTP != nil && draft.HTTP.AuthValue == "")
	if !needs {
		return nil
	}
	if !row.Secret.IsSet() {
		return nil // Normalize reports the missing secret
	}
	var stored storedTransport
	if err := json.Unmarshal(row.Transport, &stored); err != nil {
		return fmt.Errorf("decoding stored transport: %w", err)
	}
	switch {
	case draft.SMTP != nil && stored.SMTP != nil:
		same, err := sameSMTPServer(*draft, stored.SMTP)
		if err != nil {
			return err
		}
		if !same {
			return outbox.Invalid("smtp.password", "enter the password again for a new server: the stored one is kept only for the same host, port, security and user name")
		}
	case draft.HTTP != nil && stored.HTTP != nil:
		same, err := sameHTTPServer(*draft, stored.HTTP)
		if err != nil {
			return err
		}
		if !same {
			return outbox.Invalid("http.authValue", "enter the value again for a new server: the stored one is kept only for the same API host and header")
		}
	default:
		return nil // Normalize reports the missing secret
	}
	plain, err := s.openSecret(tenant, row.Secret)
	if err != nil {
		return err
	}
	if draft.SMTP != nil {
		draft.SMTP.Password = plain
	} else {
		draft.HTTP.AuthValue = plain
	}
	return nil
}

// fillOAuthAccount makes the account of a draft's OAuth connection its
// SMTP username, after checking that the connection is a CONNECTED one of
// the sender key. Errors: EINVALID on smtp.oauthConnection.
func (s *Service) fillOAuthAccount(ctx context.Context, tenant outbox.Tenant, key string, draft *Settings) error {
	if draft.SMTP == nil || draft.SMTP.OAuthConnection == "" {
		return nil
	}
	if s.oauth == nil {
		return outbox.Invalid("smtp.oauthConnection", "OAuth connections are not set up on this server")
	}
	email, err := s.oauth.Account(ctx, tenant.ID, key, uuid.MustParse(draft.SMTP.OAuthConnection))
	if err != nil {
		return err
	}
	draft.SMTP.Username = email
	return nil
}

// placeholderSecret stands in for a secret left out while a draft is
// normalized to be compared with the stored server; it never leaves memory.
const placeholderSecret = "x"

// sameSMTPServer reports whether the draft's SMTP server, normalized, is
// the stored one: host, port, security and username. It returns the
// draft's validation error, if any.
func sameSMTPServer(draft Settings, stored *SMTP) (bool, error) {
	c := *draft.SMTP
	c.Password = placeholderSecret
	draft.SMTP = &c
	if err := draft.Normalize(); err != nil {
		return false, err
	}
	d := draft.SMTP
	return d.Host == stored.Host && d.Port == stored.Port && d.Security == stored.Security && d.Username == stored.Username, nil
}

// sameHTTPServer reports whether the draft's HTTP API, normalized, has the
// stored one's host (with port) and auth header, and is the same provider
// (for SES: with the same access key id, whose secret it is). It returns
// the draft's validation error, if any.
func sameHTTPServer(draft Settings, stored *HTTPAPI) (bool, error) {
	c := *draft.HTTP
	c.AuthValue = placeholderSecret
	draft.HTTP = &c
	if err := draft.Normalize(); err != nil {
		return false, err
	}
	d, err := url.Parse(draft.HTTP.EffectiveURL())
	if err != nil {
		return false, outbox.Invalid("http.url", "is not a valid URL")
	}
	s, err := url.Parse(stored.EffectiveURL())
	if err != nil {
		return false, nil
	}
	if draft.HTTP.IsGeneric() != stored.IsGeneric() || (!stored.IsGeneric() && draft.HTTP.Provider != stored.Provider) ||
		draft.HTTP.AccessKeyID != stored.AccessKeyID {
		return false, nil
	}
	return strings.EqualFold(d.Host, s.Host) && strings.EqualFold(draft.HTTP.AuthHeader, stored.AuthHeader), nil
}

func testFromRow(row outbox.SenderTest) (Test, error) {
	t := Test{
		ID: row.ID, Status: TestStatus(row.Status), MessageID: row.MessageID,
		CreatedAt: row.CreatedAt, FinishedAt: row.FinishedAt, Steps: []Step{},
	}
	if err := json.Unmarshal(row.Steps, &t.Steps); err != nil {
		return Test{}, fmt.Errorf("decoding test steps: %w", err)
	}
	if len(row.Error) > 0 {
		t.Error = &outbox.DeliveryError{}
		if err := json.Unmarshal(row.Error, t.Error); err != nil {
			return Test{}, fmt.Errorf("decoding test error: %w", err)
		}
	}
	return t, nil
}

const testSubject = "Outbox test message"
