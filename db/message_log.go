package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// MessageQuery selects one page of a tenant's messages for MessageList,
// newest first. Zero fields select everything.
type MessageQuery struct {
	TenantID uuid.UUID
	// Statuses keeps messages in any of these statuses.
	Statuses []outbox.MessageStatus
	Kind     outbox.MessageKind
	// Sender keeps messages sent through the sender with this key.
	Sender string
	// Recipient keeps messages to this address (To or Cc); it must be
	// lower-cased.
	Recipient      string
	Template       string
	IdempotencyKey string
	// Since and Until keep messages created in [Since, Until).
	Since, Until time.Time
	// Search keeps messages whose subject contains it, in any case; its
	// pattern characters (% and _) are taken literally.
	Search string
	// Tag keeps messages with this tag.
	Tag string
	// Metadata, when not nil, is a JSON object of one key and value: it
	// keeps messages whose metadata has that key with that value.
	Metadata []byte
	// AfterID, when not uuid.Nil, starts the page after the message with
	// that id created at AfterCreatedAt (the keyset cursor).
	AfterCreatedAt time.Time
	AfterID        uuid.UUID
	// Limit is how many messages the page holds at most.
	Limit int
}

// MessageList returns the page of messages q selects, planned for its
// actual arguments (see customPlans): MessageLogList for the whole log and
// for SENT, MessageLogListByStatus for any other status.
//
// messages carries no index on status (025: its status changes are HOT
// updates), so a status other than SENT is read newest first through
// messages_by_status, which holds only the messages that are not SENT:
// the page costs its own rows, however many messages were SENT. A SENT
// page walks the tenant's newest messages, nearly all of them SENT once a
// send is over.
//
// A page of several statuses is one statement for each, every one newest
// first and at most a page long, run in one read-only snapshot (so that a
// message changing status meanwhile is not listed twice) and merged here:
// a list of statuses (status = ANY) cannot be read in date order from one
// index (docs/benchmarks-logs.md).
func (s *Store) MessageList(ctx context.Context, q MessageQuery) ([]outbox.Message, error) {
	p := dbsqlc.MessageLogListParams{
		TenantID: q.TenantID, RowLimit: int32(q.Limit),
		Kind: optional(string(q.Kind)), SenderKey: optional(q.Sender), Recipient: optional(q.Recipient), TemplateKey: optional(q.Template),
		IdempotencyKey: optional(q.IdempotencyKey), Since: optionalTime(q.Since), Until: optionalTime(q.Until),
		Tag: optional(q.Tag), Metadata: q.Metadata,
	}
	if q.Search != "" {
		pattern := likePattern(q.Search)
		p.SubjectPattern = &pattern
	}
	if q.AfterID != uuid.Nil {
		p.AfterCreatedAt, p.AfterID = &q.AfterCreatedAt, uuid.NullUUID{UUID: q.AfterID, Valid: true}
	}
	statuses := slices.Compact(slices.Sorted(slices.Values(q.Statuses)))
	if len(statuses) == 0 {
		return messagePage(ctx, s.pool, p, "")
	}
	if len(statuses) == 1 {
		return messagePage(ctx, s.pool, p, statuses[0])
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only; a no-op after Commit
	var page []outbox.Message
	for _, st := range statuses {
		rows, err := messagePage(ctx, tx, p, st)
		if err != nil {
			return nil, err
		}
		page = append(page, rows...)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	slices.SortFunc(page, newestFirst)
	return page[:min(len(page), q.Limit)], nil
}

// messagePage runs on conn, with a plan made for its arguments, the page
// of p's filters in status ("" for any).
func messagePage(ctx context.Context, conn dbsqlc.DBTX, p dbsqlc.MessageLogListParams, status outbox.MessageStatus) ([]outbox.Message, error) {
	q := dbsqlc.New(customPlans{conn})
	var rows []dbsqlc.Message
	var err error
	switch status {
	case "", outbox.StatusSent:
		p.OnlySent = status == outbox.StatusSent
		rows, err = q.MessageLogList(ctx, p)
	default:
		var joined []dbsqlc.MessageLogListByStatusRow
		joined, err = q.MessageLogListByStatus(ctx, dbsqlc.MessageLogListByStatusParams{
			TenantID: p.TenantID, Status: string(status), AfterCreatedAt: p.AfterCreatedAt, AfterID: p.AfterID,
			Kind: p.Kind, SenderKey: p.SenderKey, Recipient: p.Recipient, TemplateKey: p.TemplateKey,
			IdempotencyKey: p.IdempotencyKey, Since: p.Since, Until: p.Until, SubjectPattern: p.SubjectPattern,
			Tag: p.Tag, Metadata: p.Metadata, RowLimit: p.RowLimit,
		})
		for _, r := range joined {
			rows = append(rows, r.Message)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	return MessagesFromRows(rows)
}

// newestFirst orders messages as the log lists them: by creation, newest
// first, then by id, highest first.
func newestFirst(a, b outbox.Message) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return bytes.Compare(b.ID[:], a.ID[:])
}

// MessageGetByID returns one of a tenant's messages; ENOTFOUND when the
// tenant has none with that id.
func (s *Store) MessageGetByID(ctx context.Context, tenantID, id uuid.UUID) (outbox.Message, error) {
	row, err := s.q.MessageGet(ctx, dbsqlc.MessageGetParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.Message{}, loadErr(err, "message")
	}
	return MessageFromRow(row)
}

// MessageGetWithLastEvent returns one of a tenant's messages and the id of
// its latest event (0 when it has none), read in one snapshot; ENOTFOUND
// when the tenant has no such message.
func (s *Store) MessageGetWithLastEvent(ctx context.Context, tenantID, id uuid.UUID) (outbox.Message, int64, error) {
	r, err := s.q.MessageLogGet(ctx, dbsqlc.MessageLogGetParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.Message{}, 0, loadErr(err, "message")
	}
	m, err := MessageFromRow(r.Message)
	return m, r.LastEventID, err
}

// MessageListChangedSince returns up to limit of a tenant's messages with
// an event at or after since, least recently changed first.
func (s *Store) MessageListChangedSince(ctx context.Context, tenantID uuid.UUID, since time.Time, limit int) ([]outbox.Message, error) {
	rows, err := s.q.MessageLogChangedSince(ctx, dbsqlc.MessageLogChangedSinceParams{TenantID: tenantID, Since: since, RowLimit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("re-reading changed messages: %w", err)
	}
	return MessagesFromRows(rows)
}

// AttemptsByMessageIDs returns the delivery attempts of those of ids that
// are the tenant's messages, oldest first per message, in one statement. A
// message without attempts (or not the tenant's) has no entry.
func (s *Store) AttemptsByMessageIDs(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID][]outbox.Attempt, error) {
	rows, err := s.q.MessageAttemptsByMessageIDs(ctx, dbsqlc.MessageAttemptsByMessageIDsParams{TenantID: tenantID, MessageIds: ids})
	if err != nil {
		return nil, fmt.Errorf("loading delivery attempts: %w", err)
	}
	out := make(map[uuid.UUID][]outbox.Attempt)
	for _, r := range rows {
		out[r.MessageID] = append(out[r.MessageID], attemptFromRow(r))
	}
	return out, nil
}

// EventsByMessageIDs returns the status changes of those of ids that are
// the tenant's messages, oldest first per message, in one statement. A
// message without events (or not the tenant's) has no entry.
func (s *Store) EventsByMessageIDs(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID][]outbox.MessageEvent, error) {
	rows, err := s.q.MessageEventsByMessageIDs(ctx, dbsqlc.MessageEventsByMessageIDsParams{TenantID: tenantID, MessageIds: ids})
	if err != nil {
		return nil, fmt.Errorf("loading message events: %w", err)
	}
	out := make(map[uuid.UUID][]outbox.MessageEvent)
	for _, r := range rows {
		out[r.MessageID] = append(out[r.MessageID], eventFromRow(r))
	}
	return out, nil
}

// TenantRetention is how many days one tenant keeps its messages.
type TenantRetention struct {
	TenantID uuid.UUID
	Days     int
}

// TenantRetentionList returns every tenant's retention, for the purge.
func (s *Store) TenantRetentionList(ctx context.Context) ([]TenantRetention, error) {
	rows, err := s.q.TenantRetentionList(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing tenants' retention: %w", err)
	}
	out := make([]TenantRetention, len(rows))
	for i, r := range rows {
		out[i] = TenantRetention{TenantID: r.ID, Days: int(r.RetentionDays)}
	}
	return out, nil
}

// MessagePurgeExpired deletes up to batch of a tenant's messages created
// before cutoff with their attempts and events, skipping rows that are
// locked, in one transaction (MessagePurgeExpired, then
// MessageEventsDeleteFor and MessageAttemptsDeleteFor), and returns how
// many messages it deleted.
func (s *Store) MessagePurgeExpired(ctx context.Context, tenantID uuid.UUID, cutoff time.Time, batch int) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		ids, err := tx.q.MessagePurgeExpired(ctx, dbsqlc.MessagePurgeExpiredParams{TenantID: tenantID, Cutoff: cutoff, BatchSize: int32(batch)})
		if err != nil || len(ids) == 0 {
			return err
		}
		if err := tx.q.MessageEventsDeleteFor(ctx, ids); err != nil {
			return err
		}
		if err := tx.q.MessageAttemptsDeleteFor(ctx, ids); err != nil {
			return err
		}
		n = int64(len(ids))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purging expired messages: %w", err)
	}
	return n, nil
}

// TenantGetByID returns the tenant with the given id, read in tx;
// ENOTFOUND when there is none.
func (tx *Tx) TenantGetByID(ctx context.Context, id uuid.UUID) (outbox.Tenant, error) {
	row, err := tx.q.TenantGetByID(ctx, id)
	if err != nil {
		return outbox.Tenant{}, loadErr(err, "tenant")
	}
	return tenantFromRow(row), nil
}

// TenantRetentionSet sets how many days a tenant keeps its messages and
// returns the updated tenant; ENOTFOUND when there is no such tenant.
func (tx *Tx) TenantRetentionSet(ctx context.Context, id uuid.UUID, days int) (outbox.Tenant, error) {
	row, err := tx.q.TenantRetentionSet(ctx, dbsqlc.TenantRetentionSetParams{ID: id, RetentionDays: int32(days)})
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return outbox.Tenant{}, loadErr(err, "tenant")
		}
		return outbox.Tenant{}, fmt.Errorf("setting log retention: %w", err)
	}
	return tenantFromRow(row), nil
}

// customPlans runs every statement as an unnamed prepared statement: a
// plan made for each call's arguments, for the email log's catch-all filter
// query (MessageLogList). The default (statements prepared once per
// connection) lets Postgres switch to a generic plan after five calls, and
// a generic plan of "filter IS NULL OR column = filter" cannot pick the
// index of the filter actually given. An unnamed statement is planned at
// every call with its arguments, so the conditions of absent filters fold
// away.
type customPlans struct{ db dbsqlc.DBTX }

func (c customPlans) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.db.Exec(ctx, sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
}

func (c customPlans) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.db.Query(ctx, sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
}

func (c customPlans) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return c.db.QueryRow(ctx, sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
}

func (c customPlans) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error) {
	return c.db.CopyFrom(ctx, table, columns, rows)
}

// likePattern turns search text into an ILIKE pattern matching it anywhere,
// with the pattern characters in it taken literally.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
