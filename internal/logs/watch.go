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
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	return watch(ctx, s.hub, tenant.ID, events.Interest{Kind: events.KindMessage, ID: id}, "message", func() (follower[outbox.Message], error) {
		cur, err := s.current(ctx, tenant.ID, id)
		if err != nil {
			return nil, err
		}
		return &messageFollower{s: s, cur: cur}, nil
	})
}

// WatchAll follows the changes of the tenant's messages that pass filter,
// in commit order per message, until ctx ends. It starts with the next
// change (the list gives the current state: subscribe, then list). After a
// resync it sends again the messages changed since shortly before the
// changes may have been missed (at most ResyncLimit of them). EINVALID for
// a bad filter.
func (s *Service) WatchAll(ctx context.Context, filter Filter) (*Feed[outbox.Message], error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	if filter, err = filter.normalize(); err != nil {
		return nil, err
	}
	return watch(ctx, s.hub, tenant.ID, events.Interest{Kind: events.KindMessage}, "messages", func() (follower[outbox.Message], error) {
		return &filterFollower{s: s, tenantID: tenant.ID, filter: filter}, nil
	})
}

// WatchTest follows one of the tenant's sender tests: its current state,
// then each change, until it finishes (PASSED or FAILED) or ctx ends.
// ENOTFOUND when the tenant has no such test.
func (s *Service) WatchTest(ctx context.Context, id uuid.UUID) (*Feed[sender.Test], error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	return watch(ctx, s.hub, tenant.ID, events.Interest{Kind: events.KindSenderTest, ID: id}, "sender test", func() (follower[sender.Test], error) {
		cur, err := s.tests.Test(ctx, id)
		if err != nil {
			return nil, err
		}
		return &testFollower{s: s, cur: cur}, nil
	})
}

// A follower is what one kind of feed makes of its subscription's events.
// send hands a state to the reader and reports false once ctx has ended;
// both methods report whether to go on.
type follower[T any] interface {
	// start sends what comes before the first change.
	start(send func(T) bool) bool
	// step sends what ev changed. On a resync (changes may have been
	// missed) it re-reads the state.
	step(ctx context.Context, ev events.Event, send func(T) bool) (bool, error)
}

// watch subscribes to interest, then opens the follower (which reads the
// current state: a change in between is not lost), and returns the feed the
// follower fills until ctx ends, the subscription ends (the reader fell
// behind, or the hub closed), or the follower is done. what names the
// followed thing in errors.
func watch[T any](ctx context.Context, hub *events.Hub, tenantID uuid.UUID, interest events.Interest, what string, open func() (follower[T], error)) (*Feed[T], error) {
	sub, err := hub.Subscribe(ctx, tenantID, interest)
	if err != nil {
		return nil, fmt.Errorf("following %s: %w", what, err)
	}
	fl, err := open()
	if err != nil {
		sub.Close()
		return nil, err
	}
	f := newFeed[T]()
	go func() {
		defer sub.Close()
		f.finish(follow(ctx, sub, fl, f))
	}()
	return f, nil
}

// follow runs fl over sub's events into f and returns why it stopped (nil
// when ctx ended or fl is done).
func follow[T any](ctx context.Context, sub *events.Subscription, fl follower[T], f *Feed[T]) error {
	send := func(v T) bool { return f.send(ctx, v) }
	if !fl.start(send) {
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
		more, err := fl.step(ctx, ev, send)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !more {
			return nil
		}
	}
}

// messageFollower follows one message from its current version on.
type messageFollower struct {
	s   *Service
	cur version // the last one sent
}

func (m *messageFollower) start(send func(outbox.Message) bool) bool { return send(m.cur.msg) }

func (m *messageFollower) step(ctx context.Context, ev events.Event, send func(outbox.Message) bool) (bool, error) {
	var next version
	if ev.Resync {
		v, err := m.s.current(ctx, m.cur.msg.TenantID, m.cur.msg.ID)
		if err != nil {
			return false, err
		}
		next = v
	} else {
		next = ev.Value.(version).as(ev.Change.Seq, ev.Change.Status)
	}
	if next.seq <= m.cur.seq {
		return true, nil // already sent
	}
	m.cur = next
	return send(m.cur.msg), nil
}

// filterFollower follows the changes of a tenant's messages through a
// filter.
type filterFollower struct {
	s        *Service
	tenantID uuid.UUID
	filter   Filter
}

func (ff *filterFollower) start(func(outbox.Message) bool) bool { return true }

func (ff *filterFollower) step(ctx context.Context, ev events.Event, send func(outbox.Message) bool) (bool, error) {
	if !ev.Resync {
		m := ev.Value.(version).as(ev.Change.Seq, ev.Change.Status).msg
		return !ff.filter.Match(m) || send(m), nil
	}
	changed, err := ff.s.store.MessageListChangedSince(ctx, ff.tenantID, ev.Since, ff.s.resyncLimit)
	if err != nil {
		return false, err
	}
	if len(changed) == ff.s.resyncLimit {
		ff.s.logger.Warn("a messageEvents resync re-read only the oldest changes", "tenant", ff.tenantID, "limit", ff.s.resyncLimit)
	}
	for _, m := range changed {
		if ff.filter.Match(m) && !send(m) {
			return false, nil
		}
	}
	return true, nil
}

// testFollower follows one sender test until it finishes.
type testFollower struct {
	s   *Service
	cur sender.Test // the last state sent
}

func (tf *testFollower) start(send func(sender.Test) bool) bool {
	return send(tf.cur) && stage(tf.cur.Status) < stageFinished
}

func (tf *testFollower) step(ctx context.Context, ev events.Event, send func(sender.Test) bool) (bool, error) {
	var next sender.Test
	if ev.Resync {
		v, err := tf.s.tests.Test(ctx, tf.cur.ID)
		if err != nil {
			return false, err
		}
		next = v
	} else {
		next = testAs(ev.Value.(sender.Test), sender.TestStatus(ev.Change.Status))
	}
	if stage(next.Status) <= stage(tf.cur.Status) {
		return true, nil // already sent
	}
	tf.cur = next
	return send(tf.cur) && stage(tf.cur.Status) < stageFinished, nil
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
