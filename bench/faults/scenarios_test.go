package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/outbox/outbox/internal/smtptest"
)

// serviceEnv tunes every outbox process of the suite for a short run. It is
// the one place to adjust them; a scenario's env adds to it, and OUTBOX_*
// variables in the suite's own environment override both (say,
// OUTBOX_DELIVERY_RETRY_BASE=2s scripts/faults). Settings a build does not
// know are ignored by it, so names of settings still to come can stand here.
var serviceEnv = map[string]string{
	// Retries after 1 s, 2 s, 4 s… instead of minutes: ten attempts span
	// about 8.5 minutes, longer than any outage here.
	"OUTBOX_DELIVERY_RETRY_BASE":    "1s",
	"OUTBOX_DELIVERY_MAX_ATTEMPTS":  "10",
	"OUTBOX_WORKERS":                "50",
	"OUTBOX_SMTP_CONNS_PER_ACCOUNT": "4",
	"OUTBOX_SHUTDOWN_TIMEOUT":       "5s",
	"OUTBOX_LOG_LEVEL":              "info",
	// One caller pushing a batch; the per-minute limits are for real callers.
	"OUTBOX_RATE_LIMIT_TENANT": "0", "OUTBOX_RATE_LIMIT_CLIENT": "0",
	"OUTBOX_RATE_LIMIT_SEND_TENANT": "0", "OUTBOX_RATE_LIMIT_SEND_CLIENT": "0",
	// The suite reads every message with its attempts, 500 a page.
	"OUTBOX_QUERY_COMPLEXITY": "1000000",
}

// rescueSoon takes up the messages of a killed worker after 1 min (the
// least the setting takes) instead of the production default of 5 minutes
// (OUTBOX_DELIVERY_RESCUE_AFTER must exceed the longest live attempt; here
// attempts take milliseconds).
var rescueSoon = map[string]string{"OUTBOX_DELIVERY_RESCUE_AFTER": "1m"}

// rescueRecovery is how long the messages of a killed worker may take to be
// final: River takes up a job only once it has run longer than both
// OUTBOX_DELIVERY_RESCUE_AFTER and the delivery job's timeout (2m30s),
// looking every 30 s, and the rescue sweep moves its message within another
// 30 s; then it is sent.
const rescueRecovery = 4 * time.Minute

// scenario is one fault injected into a batch in flight.
type scenario struct {
	name  string
	fault string // what is done, for the table
	// workers is the number of `serve --role worker` processes beside one
	// `serve --role api`, all on the suite's PostgreSQL; 0 runs one
	// `serve` on its private database (DATABASE_URL unset) instead.
	workers int
	env     map[string]string
	// recovery, when longer than -recovery, is how long after the fault
	// every message must be final in this scenario.
	recovery time.Duration
	// inject does the fault and returns once it is over (the service may
	// still be recovering); the suite times the fault around it. It returns
	// notes for the table, and an error when the fault could not be
	// injected.
	inject func(ctx context.Context, r *run) ([]string, error)
}

var scenarios = []scenario{
	{
		name: "kill-worker", fault: "kill -9 of one of two worker processes", workers: 2,
		env: rescueSoon, recovery: rescueRecovery,
		inject: func(_ context.Context, r *run) ([]string, error) {
			r.workers[0].Kill()
			return nil, nil
		},
	},
	{
		name: "pg-restart-fast", fault: "pg_ctl restart -m fast", workers: 2,
		inject: func(ctx context.Context, r *run) ([]string, error) { return nil, r.pg.Restart(ctx, "fast") },
	},
	{
		name: "pg-restart-immediate", fault: "pg_ctl restart -m immediate", workers: 2,
		inject: func(ctx context.Context, r *run) ([]string, error) { return nil, r.pg.Restart(ctx, "immediate") },
	},
	{
		name: "smtp-refused", fault: "SMTP server refusing connections for 30 s", workers: 2,
		inject: func(ctx context.Context, r *run) ([]string, error) {
			r.sink.Down()
			defer r.sink.Up()
			return nil, pause(ctx, 30*time.Second)
		},
	},
	{
		name: "smtp-451", fault: "SMTP server answering 451 to MAIL for 20 s", workers: 2,
		// A deferral spends an attempt and the retry waits with exponential
		// backoff and full jitter (1 s doubling): a message deferred 8 times
		// in the 20 s may wait up to 2^8 s for its next try.
		recovery: 5 * time.Minute,
		inject: func(ctx context.Context, r *run) ([]string, error) {
			r.sink.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Code: 451, EnhancedCode: "4.3.0", Message: "try again later"})
			defer r.sink.ClearFaults()
			return nil, pause(ctx, 20*time.Second)
		},
	},
	{
		name: "smtp-hang", fault: "SMTP server accepting but never replying for 20 s", workers: 2,
		inject: func(ctx context.Context, r *run) ([]string, error) {
			// New connections get no greeting, open ones no answer to MAIL.
			r.sink.SetFault(smtptest.Fault{Stage: smtptest.StageConnect, Action: smtptest.Hang})
			r.sink.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Action: smtptest.Hang})
			defer r.sink.ClearFaults()
			return nil, pause(ctx, 20*time.Second)
		},
	},
	{
		name: "kill-serve-private", fault: "kill -9 of `serve` on its private database, then `serve` again", workers: 0,
		env: rescueSoon, recovery: rescueRecovery,
		inject: func(ctx context.Context, r *run) ([]string, error) {
			r.api.Kill()
			return r.restartPrivate(ctx)
		},
	},
}

// pause waits d: the length of a fault, not a wait for work.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
}
