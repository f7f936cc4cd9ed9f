package db

import "github.com/outbox/outbox/db/dbsqlc"

// Queries returns the sqlc queries outside any transaction, for db's own
// tests, which set up and read rows the Store has no method for.
func (s *Store) Queries() *dbsqlc.Queries { return s.q }
