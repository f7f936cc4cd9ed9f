package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outbox/outbox/db/dbsqlc"
)

// LogQ returns the queries with a plan made for each call's arguments, for
// the email log's catch-all filter query (MessageLogList). The default
// (statements prepared once per connection) lets Postgres switch to a
// generic plan after five calls, and a generic plan of "filter IS NULL OR
// column = filter" cannot pick the index of the filter actually given. An
// unnamed statement is planned at every call with its arguments, so the
// conditions of absent filters fold away.
func (s *Store) LogQ() *dbsqlc.Queries {
	return dbsqlc.New(customPlans{s.pool})
}

// customPlans runs every statement as an unnamed prepared statement.
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
