package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// logPage is one email-log page the logs phase reads, and its timings:
// as the run left the table, and after VACUUM ANALYZE.
type logPage struct {
	name   string
	filter map[string]any
	took   [2][]time.Duration
	rows   int
}

// logPageQuery is the log's first page as the console asks for it.
const logPageQuery = `query($filter: MessageFilter) {
  messages(filter: $filter, first: 50) { edges { node { id status to subject } } pageInfo { hasNextPage } }
}`

// logs reads pages of the email log over GraphQL, o.logReads times each,
// with the messages the earlier phases of the run left: so that a speed-up
// of delivery that makes the log's filters slow shows in the same run. The
// rare and absent filters (FAILED, a recipient, a search with no match)
// are the ones an index has to carry. Each page is read as the run left
// the table (right after a bulk send, before autovacuum has been by) and
// again after VACUUM ANALYZE.
func (b *bench) logs(ctx context.Context) error {
	var total int
	if err := b.db.QueryRow(ctx, "/* bench */ SELECT count(*) FROM messages WHERE tenant_id = $1", b.tenant).Scan(&total); err != nil {
		return err
	}
	pages := []*logPage{
		{name: "newest page, no filter"},
		{name: "status SENT", filter: map[string]any{"status": []string{"SENT"}}},
		{name: "status FAILED (none)", filter: map[string]any{"status": []string{"FAILED"}}},
		{name: "status QUEUED, SENDING or RETRYING", filter: map[string]any{"status": []string{"QUEUED", "SENDING", "RETRYING"}}},
		{name: "recipient (exact, other case)", filter: map[string]any{"recipient": "Customer1234@EXAMPLE.com"}},
		{name: "template", filter: map[string]any{"template": "order.confirmed"}},
		{name: "search, no match", filter: map[string]any{"search": "refund"}},
	}
	for pass := range 2 {
		if pass == 1 {
			// What autovacuum does in time: the statistics of the rows the
			// run wrote, and the dead index entries of their earlier
			// versions gone.
			if _, err := b.db.Exec(ctx, "/* bench */ VACUUM ANALYZE messages"); err != nil {
				return err
			}
		}
		for _, p := range pages {
			for range b.o.logReads {
				var out struct {
					Messages struct {
						Edges []struct{ Node struct{ ID string } }
					}
				}
				took, err := b.client.Timed(ctx, logPageQuery, map[string]any{"filter": p.filter}, &out)
				if err != nil {
					return fmt.Errorf("log page %q: %w", p.name, err)
				}
				p.took[pass], p.rows = append(p.took[pass], took), len(out.Messages.Edges)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "   log of %d messages\n", total)
	b.res.logs, b.res.logMessages = pages, total
	return nil
}
