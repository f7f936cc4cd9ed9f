package logs

import "github.com/outbox/outbox/db/dbsqlc"

// MatchForTest applies f as WatchAll does (normalized first).
func MatchForTest(f Filter, m dbsqlc.Message) bool {
	f, err := f.normalize()
	if err != nil {
		panic(err)
	}
	return f.Match(m)
}
