package logs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
)

// Retention bounds, in days.
const (
	DefaultRetentionDays = 30
	MaxRetentionDays     = 365
)

// SetRetention sets how many days the tenant's messages are kept (1 to
// MaxRetentionDays) and records it in the audit log; the next purge applies
// it. It returns the updated tenant; EINVALID for days out of range.
func (s *Service) SetRetention(ctx context.Context, days int) (outbox.Tenant, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.Tenant{}, err
	}
	if days < 1 || days > MaxRetentionDays {
		return outbox.Tenant{}, outbox.Invalid("days", "must be between 1 and %d", MaxRetentionDays)
	}
	var updated outbox.Tenant
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		before, err := tx.TenantGetByID(ctx, tenant.ID)
		if err != nil {
			return err
		}
		if updated, err = tx.TenantRetentionSet(ctx, tenant.ID, days); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "log_retention.set", tenant.ID.String(),
			map[string]int{"retentionDays": before.RetentionDays}, map[string]int{"retentionDays": days})
	})
	if err != nil {
		return outbox.Tenant{}, err
	}
	return updated, nil
}

// Retention returns how many days the caller's tenant keeps its messages,
// read from the database (the tenant in ctx may be cached from before a
// change).
func (s *Service) Retention(ctx context.Context) (int, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return 0, err
	}
	t, err := s.store.Tenant(ctx, tenant.ID)
	if err != nil {
		return 0, err
	}
	return t.RetentionDays, nil
}

// Purge deletes every tenant's messages older than its retention (with
// their attempts and events), in batches of PurgeBatch, each statement its
// own short transaction, skipping rows that are locked. It returns how many
// messages it deleted; on an error, those deleted until then stay deleted.
func (s *Service) Purge(ctx context.Context, now time.Time) (int64, error) {
	tenants, err := s.store.TenantRetentionList(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range tenants {
		cutoff := now.Add(-time.Duration(t.Days) * 24 * time.Hour)
		for {
			n, err := s.store.MessagePurgeExpired(ctx, t.TenantID, cutoff, s.purgeBatch)
			if err != nil {
				return total, err
			}
			total += n
			if n < int64(s.purgeBatch) {
				break
			}
		}
	}
	return total, nil
}

// PurgeJobArgs is the periodic River job that runs Purge.
type PurgeJobArgs struct{}

// Kind is the River job kind.
func (PurgeJobArgs) Kind() string { return "log_purge" }

// InsertOpts keeps purges from overlapping: while one is waiting or
// running, inserting another is a no-op. A finished purge does not block
// the next one (River's default unique states include completed, which
// would refuse a second purge within the same period).
func (PurgeJobArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// PurgeInterval is how often expired messages are purged.
const PurgeInterval = time.Hour
