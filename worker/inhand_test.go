package worker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// blockArgs is a job whose work waits for its test to let it go.
type blockArgs struct{}

func (blockArgs) Kind() string { return "test_block" }

type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started, release chan struct{}
}

func (w *blockWorker) Work(ctx context.Context, _ *river.Job[blockArgs]) error {
	w.started <- struct{}{}
	<-w.release
	return nil
}

// TestReclaimTakesUpJobsTheDatabaseLost runs a real River client with the
// InHand middleware. The table says the client runs four jobs fetched a
// minute ago: one it is working on, one whose work has just ended, one
// whose fetch it never received (a database restart lost the answer), and
// one of another client. Reclaim makes only the lost one available again,
// with its history saying why, and the client then works it to the end.
func TestReclaimTakesUpJobsTheDatabaseLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	block := &blockWorker{started: make(chan struct{}, 2), release: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, block)
	hand := NewInHand()
	quiet := slog.New(slog.DiscardHandler)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Middleware:    []rivertype.Middleware{hand},
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
		Logger: quiet,
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		select {
		case <-block.release:
		default:
			close(block.release)
		}
		client.Stop(ctx) //nolint:errcheck // the test is over
	})

	insert := func(opts *river.InsertOpts) int64 {
		t.Helper()
		res, err := client.Insert(ctx, blockArgs{}, opts)
		require.NoError(t, err)
		return res.Job.ID
	}
	// fetchedAgo marks a job running, fetched by client a minute ago.
	fetchedAgo := func(id int64, clientID string) {
		t.Helper()
		_, err := pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now() - interval '1 minute',
			attempted_by = array_append(attempted_by, $2) WHERE id = $1`, id, clientID)
		require.NoError(t, err)
	}
	later := &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)} // not fetched by the client meanwhile

	working := insert(nil)
	<-block.started
	fetchedAgo(working, client.ID()) // as if fetched long ago: still in hand
	justEnded := insert(later)
	fetchedAgo(justEnded, client.ID())
	hand.mu.Lock()
	hand.ended[justEnded] = time.Now() // its completion not yet recorded
	hand.mu.Unlock()
	lost := insert(&river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour), MaxAttempts: 1})
	fetchedAgo(lost, client.ID())
	other := insert(later)
	fetchedAgo(other, "another-client")

	hand.reclaimOnce(ctx, store, client.ID(), quiet)

	select {
	case <-block.started: // the lost job, worked now
	case <-time.After(10 * time.Second):
		t.Fatal("the lost job was not worked again")
	}
	close(block.release)
	require.Eventually(t, func() bool {
		job, err := client.JobGet(ctx, lost)
		require.NoError(t, err)
		return job.State == rivertype.JobStateCompleted
	}, 10*time.Second, 50*time.Millisecond, "the lost job was worked to the end")
	job, err := client.JobGet(ctx, lost)
	require.NoError(t, err)
	require.Equal(t, 2, job.Attempt, "the lost attempt is counted")
	require.Equal(t, 2, job.MaxAttempts, "and given back")
	require.Len(t, job.Errors, 1)
	require.Contains(t, job.Errors[0].Error, "not running this job")

	for _, id := range []int64{justEnded, other} {
		job, err := client.JobGet(ctx, id)
		require.NoError(t, err)
		require.Equal(t, rivertype.JobStateRunning, job.State, "job %d left alone", id)
	}
	require.Eventually(t, func() bool {
		job, err := client.JobGet(ctx, working)
		require.NoError(t, err)
		return job.State == rivertype.JobStateCompleted
	}, 10*time.Second, 50*time.Millisecond, "the job in hand ended as its work did")
}

// TestInHandForgetsEndedJobs: a job counts as in hand while it is worked
// and for endedHold after, then no more.
func TestInHandForgetsEndedJobs(t *testing.T) {
	t.Parallel()
	hand := NewInHand()
	inside := make(chan []int64, 1)
	err := hand.Work(context.Background(), &rivertype.JobRow{ID: 7}, func(context.Context) error {
		inside <- hand.IDs(time.Now())
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []int64{7}, <-inside, "while worked")
	require.Equal(t, []int64{7}, hand.IDs(time.Now().Add(endedHold-time.Second)), "just after")
	require.Empty(t, hand.IDs(time.Now().Add(endedHold+time.Second)), "long after")
	require.Empty(t, hand.ended, "and forgotten")
}
