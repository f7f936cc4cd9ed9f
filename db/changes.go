package db

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outbox/outbox/db/dbsqlc"
)

// ChangesChannel is the Postgres channel status changes are notified on, at
// commit, with ids only: {"k":"m","t":tenant id,"id":message id,"s":status,
// "e":event id} for a message (MessageStatusChangeMany, MessageEventInsertMany)
// and {"k":"t","t":tenant id,"id":test id,"s":status} for a sender test
// (SenderTestChangeNotify). Every API process LISTENs on it and pushes the
// changes to its subscribers (internal/events).
const ChangesChannel = "outbox_changes"

// ListenerApplicationName is the application_name of the LISTEN
// connection, which tells it apart in pg_stat_activity.
const ListenerApplicationName = "outbox-listener"

// ListenChanges opens a connection of its own (outside the pool, which
// must not lose a connection to a session-long LISTEN) with the pool's
// settings, and LISTENs on ChangesChannel. The caller closes it.
func (s *Store) ListenChanges(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ListenerApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+ChangesChannel); err != nil {
		conn.Close(context.Background()) //nolint:errcheck // the LISTEN error is the one to report
		return nil, fmt.Errorf("listening on %s: %w", ChangesChannel, err)
	}
	return conn, nil
}

// NotifySenderTest tells every API process, at commit, that a sender test
// changed status. Call it in the transaction of the change.
func (tx *Tx) NotifySenderTest(ctx context.Context, tenantID, testID uuid.UUID) error {
	if err := tx.q.SenderTestChangeNotify(ctx, dbsqlc.SenderTestChangeNotifyParams{TenantID: tenantID, ID: testID}); err != nil {
		return fmt.Errorf("notifying sender test change: %w", err)
	}
	return nil
}
