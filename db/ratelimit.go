package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outbox/outbox/db/dbsqlc"
)

// RateLimitAccount is the stored state of one sending account's limiter
// (internal/ratelimit): the running totals of its reservation log, the
// pruned watermark, its pause, and the instant it was read at.
type RateLimitAccount struct {
	// Seq and RecipientsTotal are the number and the running recipients
	// total of the account's latest reservation (0 before the first).
	Seq, RecipientsTotal int64
	// PrunedSeq and PrunedRecipients are those of the latest reservation
	// pruned from the log: every one up to it is older than a day.
	PrunedSeq, PrunedRecipients int64
	// PausedUntil is when a throttling pause ends; nil for none.
	PausedUntil *time.Time
	// Now is the instant the state was read at: the now given, else the
	// database clock.
	Now time.Time
}

// RateLimitReservation is one entry of a sending account's reservation
// log: its number, its instant and the running recipients total.
type RateLimitReservation struct {
	Seq             int64
	At              time.Time
	RecipientsTotal int64
}

// RateLimitPrune names the oldest reservations of a log a new one prunes:
// those numbered FromSeq to ToSeq that are before Before.
type RateLimitPrune struct {
	FromSeq, ToSeq int64
	Before         time.Time
}

// RateLimitAccountPause returns the account's pause and the instant it is
// read at (the database clock), without a lock
// (RateLimitAccountGet). An account without a row was never paused: its
// PausedUntil is nil. It fails only with the database's error.
func (s *Store) RateLimitAccountPause(ctx context.Context, account string) (RateLimitAccount, error) {
	row, err := s.q.RateLimitAccountGet(ctx, account)
	if errors.Is(err, pgx.ErrNoRows) {
		return RateLimitAccount{}, nil
	}
	if err != nil {
		return RateLimitAccount{}, fmt.Errorf("reading sending account pause: %w", err)
	}
	return RateLimitAccount{PausedUntil: row.PausedUntil, Now: row.Now}, nil
}

// RateLimitAccountLock locks the account's row for the rest of tx,
// creating it on first use, and returns its state with the instant the
// next reservation is decided at (the database clock, never before the
// latest reservation). It fails with the
// database's error.
func (tx *Tx) RateLimitAccountLock(ctx context.Context, account string) (RateLimitAccount, error) {
	row, err := tx.q.RateLimitAccountLock(ctx, account)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := tx.q.RateLimitAccountCreate(ctx, account); err != nil {
			return RateLimitAccount{}, fmt.Errorf("creating sending account: %w", err)
		}
		row, err = tx.q.RateLimitAccountLock(ctx, account)
	}
	if err != nil {
		return RateLimitAccount{}, fmt.Errorf("locking sending account: %w", err)
	}
	return RateLimitAccount{
		Seq: row.Seq, RecipientsTotal: row.RecipientsTotal, PrunedSeq: row.PrunedSeq, PrunedRecipients: row.PrunedRecipients,
		PausedUntil: row.PausedUntil, Now: row.Now,
	}, nil
}

// RateLimitReservationsBlocking returns the reservations of the account
// numbered seqs and the first whose running recipients total reaches
// minRecipientsTotal (none when it is nil), in one statement: those that
// decide when the next reservation fits. It fails with the database's
// error.
func (tx *Tx) RateLimitReservationsBlocking(ctx context.Context, account string, seqs []int64, minRecipientsTotal *int64) ([]RateLimitReservation, error) {
	rows, err := tx.q.RateLimitReservationsBlocking(ctx, dbsqlc.RateLimitReservationsBlockingParams{
		Account: account, Seqs: seqs, MinRecipientsTotal: minRecipientsTotal,
	})
	if err != nil {
		return nil, fmt.Errorf("reading reservations: %w", err)
	}
	out := make([]RateLimitReservation, len(rows))
	for i, r := range rows {
		out[i] = RateLimitReservation(r)
	}
	return out, nil
}

// RateLimitReservationInsert records r as the account's latest reservation
// and prunes what prune names, in one statement; the caller holds the
// account's lock (RateLimitAccountLock). It fails with the database's
// error.
func (tx *Tx) RateLimitReservationInsert(ctx context.Context, account string, r RateLimitReservation, prune RateLimitPrune) error {
	err := tx.q.RateLimitReservationInsert(ctx, dbsqlc.RateLimitReservationInsertParams{
		Account: account, Seq: r.Seq, RecipientsTotal: r.RecipientsTotal, At: r.At,
		PruneFromSeq: prune.FromSeq, PruneToSeq: prune.ToSeq, PruneBefore: prune.Before,
	})
	if err != nil {
		return fmt.Errorf("recording reservation: %w", err)
	}
	return nil
}

// RateLimitPause pauses the account until until, unless it is already
// paused longer. It fails with the database's error.
func (s *Store) RateLimitPause(ctx context.Context, account string, until time.Time) error {
	if err := s.q.RateLimitPause(ctx, dbsqlc.RateLimitPauseParams{Account: account, Until: until}); err != nil {
		return fmt.Errorf("pausing sending account: %w", err)
	}
	return nil
}

// RateLimitAccountGet returns the account's stored state, for tests and
// diagnostics; its Now is zero. It fails with ENOTFOUND for an account
// that has no row.
func (s *Store) RateLimitAccountGet(ctx context.Context, account string) (RateLimitAccount, error) {
	row, err := s.q.RateLimitAccountState(ctx, account)
	if err != nil {
		return RateLimitAccount{}, loadErr(err, "sending account")
	}
	return RateLimitAccount{
		Seq: row.Seq, RecipientsTotal: row.RecipientsTotal, PrunedSeq: row.PrunedSeq, PrunedRecipients: row.PrunedRecipients,
		PausedUntil: row.PausedUntil,
	}, nil
}
