package logs

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/events"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
)

// Watch follows one of the tenant's messages: its current state, then each
// change in commit order, until ctx ends. ENOTFOUND when the tenant has no
// such message.
func (s *Service) Watch(ctx context.Context, id uuid.UUID) (*Feed[outbox.Message], error) {
	tenant, err := outbox.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	// Subscribe first, then read: a change in between is not lost.
	sub, err := s.hub.Subscribe(ctx, tenant.ID, events.Interest{Kind: events.KindMessage, ID: id})
	if err != nil {
		return nil, fmt.Errorf("following message: %w", err)
	}
	cur, err := s.current(ctx, tenant.ID, id)
	if err != nil {
		sub.Close()
		return nil, err
	}
	f := newFeed[outbox.Message]()
	go func() {
		defer sub.Close()
		f.finish(s.follow(ctx, sub, cur, f))
	}()
	return f, nil
}

func (s *Service) follow(ctx context.Context, sub *events.Subscription, cur version, f *Feed[outbox.Message]) error {
	if !f.send(ctx, cur.msg) {
		return nil
	}
	for {
		var ev events.Event
		var ok bool
		select {
		case ev, ok = <-sub.Events():
		case <-ctx.Done():
			return nil
		}
		if !ok {
			return errEnded(sub.Err())
		}
		next := cur
		if ev.Resync {
			v, err := s.current(ctx, cur.msg.TenantID, cur.msg.ID)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			next = v
		} else {
			next = ev.Value.(version).as(ev.Change.Seq, ev.Change.Status)
		}
		if next.seq <= cur.seq {
			continue // already sent
		}
		cur = next
		if !f.send(ctx, cur.msg) {
			return nil
		}
	}
}

// WatchAll follows the changes of the tenant's messages that pass filter,
// in commit order per message, until ctx ends. It starts with the next
// change (the list gives the current state: subscribe, then list). After a
// resync it sends again the messages changed since shortly before the
// changes may have been missed (at most ResyncLimit of them). EINVALID for
// a bad filter.
func (s *Service) WatchAll(ctx context.Context, filter Filter) (*Feed[outbox.Message], error) {
	tenant, err := outbox.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if filter, err = filter.normalize(); err != nil {
		return nil, err
	}
	sub, err := s.hub.Subscribe(ctx, tenant.ID, events.Interest{Kind: events.KindMessage})
	if err != nil {
		return nil, fmt.Errorf("following messages: %w", err)
	}
	f := newFeed[outbox.Message]()
	go func() {
		defer sub.Close()
		f.finish(s.followAll(ctx, tenant.ID, sub, filter, f))
	}()
	return f, nil
}

func (s *Service) followAll(ctx context.Context, tenantID uuid.UUID, sub *events.Subscription, filter Filter, f *Feed[outbox.Message]) error {
	for {
		var ev events.Event
		var ok bool
		select {
		case ev, ok = <-sub.Events():
		case <-ctx.Done():
			return nil
		}
		if !ok {
			return errEnded(sub.Err())
		}
		rows := []outbox.Message{}
		if ev.Resync {
			changed, err := s.store.MessageListChangedSince(ctx, tenantID, ev.Since, s.resyncLimit)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if len(changed) == s.resyncLimit {
				s.logger.Warn("a messageEvents resync re-read only the oldest changes", "tenant", tenantID, "limit", s.resyncLimit)
			}
			rows = changed
		} else {
			rows = append(rows, ev.Value.(version).as(ev.Change.Seq, ev.Change.Status).msg)
		}
		for _, row := range rows {
			if filter.Match(row) && !f.send(ctx, row) {
				return nil
			}
		}
	}
}

// WatchTest follows one of the tenant's sender tests: its current state,
// then each change, until it finishes (PASSED or FAILED) or ctx ends.
// ENOTFOUND when the tenant has no such test.
func (s *Service) WatchTest(ctx context.Context, id uuid.UUID) (*Feed[sender.Test], error) {
	tenant, err := outbox.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	sub, err := s.hub.Subscribe(ctx, tenant.ID, events.Interest{Kind: events.KindSenderTest, ID: id})
	if err != nil {
		return nil, fmt.Errorf("following sender test: %w", err)
	}
	cur, err := s.tests.Test(ctx, id)
	if err != nil {
		sub.Close()
		return nil, err
	}
	f := newFeed[sender.Test]()
	go func() {
		defer sub.Close()
		f.finish(s.followTest(ctx, sub, cur, f))
	}()
	return f, nil
}

func (s *Service) followTest(ctx context.Context, sub *events.Subscription, cur sender.Test, f *Feed[sender.Test]) error {
	if !f.send(ctx, cur) {
		return nil
	}
	for stage(cur.Status) < stageFinished {
		var ev events.Event
		var ok bool
		select {
		case ev, ok = <-sub.Events():
		case <-ctx.Done():
			return nil
		}
		if !ok {
			return errEnded(sub.Err())
		}
		var next sender.Test
		if ev.Resync {
			t, err := s.tests.Test(ctx, cur.ID)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			next = t
		} else {
			next = testAs(ev.Value.(sender.Test), sender.TestStatus(ev.Change.Status))
		}
		if stage(next.Status) <= stage(cur.Status) {
			continue // already sent
		}
		cur = next
		if !f.send(ctx, cur) {
			return nil
		}
	}
	return nil
}

// A sender test only moves forward: PENDING, RUNNING, then PASSED or
// FAILED, so its stage orders its changes.
const stageFinished = 3

func stage(s sender.TestStatus) int {
	switch s {
	case sender.TestPending:
		return 1
	case sender.TestRunning:
		return 2
	case sender.TestPassed, sender.TestFailed:
		return stageFinished
	}
	return 0
}

// testAs returns t as it was when it had status: a test loaded after it
// moved on is shown as it was then (no steps, error or finish time yet
// before it finished).
func testAs(t sender.Test, status sender.TestStatus) sender.Test {
	if stage(status) >= stage(t.Status) {
		return t
	}
	t.Status, t.Steps, t.Error, t.FinishedAt = status, []sender.Step{}, nil, nil
	return t
}

// load is the hub's LoadFunc: the changed message or sender test.
func (s *Service) load(ctx context.Context, c events.Change) (any, error) {
	switch c.Kind {
	case events.KindMessage:
		return s.current(ctx, c.TenantID, c.ID)
	case events.KindSenderTest:
		return s.tests.Test(outbox.NewContextWithTenant(ctx, outbox.Tenant{ID: c.TenantID}), c.ID)
	}
	return nil, fmt.Errorf("loading a change of unknown kind %q", c.Kind)
}
