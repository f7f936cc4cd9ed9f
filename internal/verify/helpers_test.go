package verify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/testclock"
	"github.com/outbox/outbox/internal/transport"
	"github.com/outbox/outbox/internal/verify"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const publicURL = "https://outbox.example"

// fakeRelay records what it is asked to send and fails as told.
type fakeRelay struct {
	mu   sync.Mutex
	sent []transport.Message
	fail error
}

func (r *fakeRelay) Send(_ context.Context, msg transport.Message) (transport.Attempt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		f := transport.Classify("", r.fail)
		return transport.Attempt{Server: "relay.test:587", Code: f.Code, Reply: f.Message}, f
	}
	r.sent = append(r.sent, msg)
	return transport.Attempt{Server: "relay.test:587", Code: 250, Reply: "2.0.0 queued"}, nil
}

func (r *fakeRelay) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

func (r *fakeRelay) messages() []transport.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]transport.Message(nil), r.sent...)
}

type bundle struct {
	svc     *verify.Service
	store   *db.Store
	senders *sender.Service
	relay   *fakeRelay
	clock   *testclock.Clock
	river   *river.Client[pgx.Tx]
}

func setup(t *testing.T) *bundle {
	t.Helper()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{}) // insert only
	require.NoError(t, err)
	spec, err := secret.GenerateKeySpec("k1")
	require.NoError(t, err)
	keyring, err := secret.ParseKeyring(spec)
	require.NoError(t, err)
	platform := sender.Platform{Name: "Outbox", From: "notifications@outbox.example"}
	senders := sender.NewService(store, client, keyring, platform, sender.Options{})
	b := &bundle{
		store: store, senders: senders, relay: &fakeRelay{}, river: client,
		clock: testclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)),
	}
	b.svc = verify.NewService(
		verify.Deps{Store: store, Jobs: client, Keyring: keyring, Senders: senders, Relay: b.relay,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		verify.Config{PublicURL: publicURL, Platform: platform},
		verify.Options{Now: b.clock.Now},
	)
	return b
}

// tenant returns a context acting for a (new) tenant, as its admin.
func (b *bundle) tenant(t *testing.T, slug string) context.Context {
	t.Helper()
	tenant, err := b.store.EnsureTenant(context.Background(), slug)
	require.NoError(t, err)
	ctx := outbox.NewContextWithTenant(context.Background(), tenant)
	return outbox.NewContextWithCaller(ctx, outbox.Caller{Subject: "admin-" + slug, ManagesSenders: true})
}

// jobs returns the args of every verification mail job, oldest first.
func (b *bundle) jobs(t *testing.T) []verify.SendJobArgs {
	t.Helper()
	res, err := b.river.JobList(context.Background(), river.NewJobListParams().Kinds(verify.SendJobArgs{}.Kind()).First(100))
	require.NoError(t, err)
	out := make([]verify.SendJobArgs, len(res.Jobs))
	for i, j := range res.Jobs {
		require.NoError(t, json.Unmarshal(j.EncodedArgs, &out[i]))
	}
	return out
}

// sendAll works every queued verification job once, as the worker would,
// and returns the tokens of the links mailed by this call.
func (b *bundle) sendAll(t *testing.T) []string {
	t.Helper()
	before := len(b.relay.messages())
	res, err := b.river.JobList(context.Background(), river.NewJobListParams().Kinds(verify.SendJobArgs{}.Kind()).
		States(rivertype.JobStateAvailable).First(100))
	require.NoError(t, err)
	for _, j := range res.Jobs {
		var args verify.SendJobArgs
		require.NoError(t, json.Unmarshal(j.EncodedArgs, &args))
		pause, err := b.svc.SendMail(context.Background(), args, false)
		require.NoError(t, err)
		require.Zero(t, pause)
		// As River would after Work returned nil.
		_, err = b.store.Pool().Exec(context.Background(),
			`UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`, j.ID)
		require.NoError(t, err)
	}
	var tokens []string
	for _, m := range b.relay.messages()[before:] {
		tokens = append(tokens, tokenOf(t, m.Text))
	}
	return tokens
}

// tokenOf finds the link in a mail's text and returns its token.
func tokenOf(t *testing.T, text string) string {
	t.Helper()
	i := strings.Index(text, publicURL+"/verify?")
	require.GreaterOrEqual(t, i, 0, text)
	link := strings.Fields(text[i:])[0]
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query().Get("token")
}

// settings returns the tenant's stored sender settings.
func (b *bundle) settings(t *testing.T, ctx context.Context) outbox.SenderSettings {
	t.Helper()
	tenant, err := outbox.RequireTenant(ctx)
	require.NoError(t, err)
	row, err := b.store.SenderSettingsGet(context.Background(), tenant.ID, outbox.DefaultSender)
	require.NoError(t, err)
	return row
}

// auditActions returns the tenant's audit actions, oldest first.
func (b *bundle) auditActions(t *testing.T, ctx context.Context) []string {
	t.Helper()
	tenant, err := outbox.RequireTenant(ctx)
	require.NoError(t, err)
	rows, err := b.store.AuditListByTenant(context.Background(), tenant.ID, 0, 100)
	require.NoError(t, err)
	var out []string
	for i := len(rows) - 1; i >= 0; i-- {
		out = append(out, rows[i].Action)
	}
	return out
}

func requireCode(t *testing.T, err error, code outbox.Code) *outbox.Error {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, outbox.ErrorCode(err), err.Error())
	return outbox.AsError(err)
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
