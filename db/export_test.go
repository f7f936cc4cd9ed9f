package db

import (
	"context"

	"github.com/outbox/outbox/db/dbsqlc"
)

// Queries returns the sqlc queries outside any transaction, for db's own
// tests, which set up and read rows the Store has no method for.
func (s *Store) Queries() *dbsqlc.Queries { return s.q }

// MigrateTo is Migrate stopping the app schema at version target, for the
// upgrade test, which fills a database of an older version.
func MigrateTo(ctx context.Context, databaseURL string, target int32) error {
	return migrateTo(ctx, databaseURL, target)
}
