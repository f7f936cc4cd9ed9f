package logs

import "github.com/outbox/outbox/internal/outbox"

// MatchForTest applies f as WatchAll does (normalized first).
func MatchForTest(f Filter, m outbox.Message) bool {
	f, err := f.normalize()
	if err != nil {
		panic(err)
	}
	return f.Match(m)
}
