package logs

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/events"
	"github.com/outbox/outbox/internal/sender"
)

// TestReader reads one sender test of the tenant in ctx; *sender.Service
// is one.
type TestReader interface {
	Test(ctx context.Context, id uuid.UUID) (sender.Test, error)
}

// Options tune the service; zero values take the defaults.
type Options struct {
	// Hub tunes the fan-out of changes. Its Load is the service's; its
	// Connect defaults to db.Store.ListenChanges.
	Hub events.Config
	// PurgeBatch is how many messages one purge statement deletes
	// (default 1000): small enough that no lock is held for long.
	PurgeBatch int
	// ResyncLimit is how many changed messages a messageEvents feed
	// re-reads after a resync (default 1000).
	ResyncLimit int
}

// Service is the email log. Close stops its hub.
type Service struct {
	store       *db.Store
	tests       TestReader
	hub         *events.Hub
	logger      *slog.Logger
	purgeBatch  int
	resyncLimit int
}

// NewService returns the log over store, reading sender tests through
// tests. Its hub opens its LISTEN connection on the first subscription.
func NewService(store *db.Store, tests TestReader, logger *slog.Logger, opts Options) *Service {
	s := &Service{store: store, tests: tests, logger: logger, purgeBatch: opts.PurgeBatch, resyncLimit: opts.ResyncLimit}
	if s.purgeBatch <= 0 {
		s.purgeBatch = 1000
	}
	if s.resyncLimit <= 0 {
		s.resyncLimit = 1000
	}
	cfg := opts.Hub
	if cfg.Connect == nil {
		cfg.Connect = store.ListenChanges
	}
	cfg.Load = s.load
	if cfg.Logger == nil {
		cfg.Logger = logger
	}
	s.hub = events.NewHub(cfg)
	return s
}

// Hub returns the service's fan-out hub, for its statistics.
func (s *Service) Hub() *events.Hub { return s.hub }

// Close ends every feed and closes the LISTEN connection.
func (s *Service) Close() { s.hub.Close() }
