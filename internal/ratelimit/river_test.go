package ratelimit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dbtest"
)

// sendArgs is the job of the cross-process tests: one message to send
// through a limited account.
type sendArgs struct {
	Account string `json:"account"`
}

func (sendArgs) Kind() string { return "ratelimit_test_send" }

// maxSnoozes caps how often one job asks again; JobSnooze spends no
// attempt, so without a cap a limiter bug would loop forever.
const maxSnoozes = 100

// sent is what a worker reports for a job: the instant its reservation was
// taken at, or why it gave up.
type sent struct {
	jobID int64
	at    time.Time
	err   error
}

// sendWorker reserves a send for its job and snoozes it for the returned
// wait, as the delivery worker does. It calls reserve rather than Reserve to
// learn the instant the limiter counted the send at (the database clock),
// which is what the windows are checked on: a clock read in the worker after
// the commit would add its own latency.
type sendWorker struct {
	river.WorkerDefaults[sendArgs]
	lim    *Limiter
	limits Limits
	sent   chan<- sent
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[sendArgs]) error {
	wait, at, err := w.lim.reserve(ctx, []Account{{Key: job.Args.Account, Limits: w.limits}}, 1)
	if err != nil {
		return err
	}
	if wait > 0 {
		var md struct {
			Snoozes int `json:"snoozes"`
		}
		if err := json.Unmarshal(job.Metadata, &md); err != nil {
			return fmt.Errorf("reading job metadata: %w", err)
		}
		if md.Snoozes >= maxSnoozes {
			err := fmt.Errorf("job %d snoozed %d times", job.ID, md.Snoozes)
			w.sent <- sent{jobID: job.ID, err: err}
			return river.JobCancel(err)
		}
		return river.JobSnooze(wait)
	}
	w.sent <- sent{jobID: job.ID, at: at}
	return nil
}

// runRiverProcesses starts two River clients, each on a pool of its own
// (two worker processes) with a Limiter on the given windows, inserts jobs
// sends through one account limited to limits, and returns the instants of
// the sends once every job has sent.
func runRiverProcesses(t *testing.T, w windowLengths, limits Limits, jobs int, timeout time.Duration) []send {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	url := dbtest.URL(t)
	ch := make(chan sent, 2*jobs)
	acct := account(t, "m365")

	var clients []*river.Client[pgx.Tx]
	for range 2 {
		pool, err := pgxpool.New(ctx, url)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		workers := river.NewWorkers()
		river.AddWorker(workers, &sendWorker{lim: withWindows(pool, w), limits: limits, sent: ch})
		client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
			Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
			Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 8}},
			Workers:           workers,
			FetchPollInterval: 20 * time.Millisecond,
			FetchCooldown:     5 * time.Millisecond,
		})
		require.NoError(t, err)
		// Started on a context of its own: the test's deadline bounds the
		// waiting below, and Stop ends the client.
		require.NoError(t, client.Start(context.WithoutCancel(ctx)))
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, client.Stop(stopCtx))
		})
		clients = append(clients, client)
	}

	params := make([]river.InsertManyParams, jobs)
	for i := range params {
		params[i] = river.InsertManyParams{Args: sendArgs{Account: acct}}
	}
	_, err := clients[0].InsertMany(ctx, params)
	require.NoError(t, err)

	seen := make(map[int64]bool, jobs)
	sends := make([]send, 0, jobs)
	for len(sends) < jobs {
		select {
		case s := <-ch:
			require.NoError(t, s.err)
			require.False(t, seen[s.jobID], "job %d sent twice", s.jobID)
			seen[s.jobID] = true
			sends = append(sends, send{at: s.at, recipients: 1})
		case <-ctx.Done():
			t.Fatalf("only %d of %d jobs sent before the deadline", len(sends), jobs)
		}
	}
	return sends
}

// Two worker processes hold a minute limit, with scaled windows: the
// "minute" is 3 s, so 75 jobs through a 30-a-minute account take three
// windows in seconds. Every window before the last must be at least 90%
// used: snoozed jobs come back when the window lets them.
func TestRiverTwoProcessesHoldAMinuteLimit(t *testing.T) {
	t.Parallel()
	w := windowLengths{second: 50 * time.Millisecond, minute: 3 * time.Second, hour: 3 * time.Minute, day: 72 * time.Minute}
	limits := Limits{PerMinute: 30}
	sends := runRiverProcesses(t, w, limits, 75, 2*time.Minute)
	requireSlidingLimit(t, sends, w.minute, limits.PerMinute, false)
	requireUtilized(t, sends, w.minute, limits.PerMinute, 0.9)
}

// The same at full length: 60 jobs through 30 a minute take a bit over a
// minute, most of it waiting. It runs only with OUTBOX_LONG_TESTS=1
// (scripts/test-long, which CI runs after scripts/test).
func TestRiverTwoProcessesHoldAMinuteLimitFullLength(t *testing.T) {
	skipUnlessLong(t, "takes over a minute")
	t.Parallel()
	limits := Limits{PerMinute: 30}
	sends := runRiverProcesses(t, realWindows, limits, 60, 3*time.Minute)
	requireSlidingLimit(t, sends, time.Minute, limits.PerMinute, false)
	requireUtilized(t, sends, time.Minute, limits.PerMinute, 0.9)
	// Snoozes longer than River's scheduler interval (5 s) are made available
	// by its scheduler, which looks one interval ahead, and then fetched by the
	// next poll: the second batch follows the first window closely.
	sort.Slice(sends, func(i, j int) bool { return sends[i].at.Before(sends[j].at) })
	late := sends[limits.PerMinute].at.Sub(sends[0].at.Add(time.Minute))
	require.Less(t, late, 10*time.Second, "send %d came %s after the window let it", limits.PerMinute+1, late)
	t.Logf("send %d came %s after the window let it; the last at +%s", limits.PerMinute+1, late, sends[len(sends)-1].at.Sub(sends[0].at))
}
