package faults

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/outbox/outbox/internal/smtptest"
)

// message is what the suite reads of one message through the API.
type message struct {
	ID        string
	Status    string
	UpdatedAt time.Time
	SentAt    *time.Time
	Attempts  []struct {
		At   time.Time
		Code *int
	}
	LastError *struct{ Category, Message string }
}

// final reports whether the message will not change any more, and when it
// got there.
func (m message) final() (bool, time.Time) {
	switch m.Status {
	case "SENT":
		if m.SentAt != nil {
			return true, *m.SentAt
		}
		return true, m.UpdatedAt
	case "FAILED", "CANCELLED", "SUPPRESSED":
		return true, m.UpdatedAt
	}
	return false, time.Time{}
}

const pendingQuery = `query($after: String) {
  messages(filter: {status: [QUEUED, SENDING, RETRYING]}, first: 500, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor } } }`

const messagesQuery = `query($after: String) {
  messages(first: 500, after: $after) {
    edges { node { id status updatedAt sentAt attempts { at code } lastError { category message } } }
    pageInfo { hasNextPage endCursor } } }`

type page struct {
	Messages struct {
		Edges []struct {
			Node message
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
}

// pages reads every page of query and returns the messages.
func (r *run) pages(ctx context.Context, query string) ([]message, error) {
	var out []message
	var after *string
	for range 1000 {
		var p page
		if err := r.client.Do(ctx, query, map[string]any{"after": after}, &p); err != nil {
			return nil, err
		}
		for _, e := range p.Messages.Edges {
			out = append(out, e.Node)
		}
		if !p.Messages.PageInfo.HasNextPage {
			return out, nil
		}
		after = p.Messages.PageInfo.EndCursor
	}
	return nil, fmt.Errorf("more than 1000 pages of messages")
}

// countPending counts the messages not final (QUEUED, SENDING, RETRYING).
func (r *run) countPending(ctx context.Context) (int, error) {
	msgs, err := r.pages(ctx, pendingQuery)
	return len(msgs), err
}

func (r *run) readMessages(ctx context.Context) ([]message, error) {
	return r.pages(ctx, messagesQuery)
}

// result is what one scenario measured.
type result struct {
	scenario   scenario
	enqueued   int
	atFault    int // messages at the sink when the fault began
	faultStart time.Time
	faultEnd   time.Time
	lost       int // enqueued, never received, and not FAILED or otherwise final without sending
	duplicates int // copies received beyond the first
	dupMsgs    int // messages received more than once
	stuck      int // not final after the recovery time
	failed     int
	unknown    int // received with a Message-ID the batch does not have
	// inFault are the messages not yet final when the fault began; their
	// attempts during the fault are attemptsMean and attemptsMax.
	inFault      int
	attemptsMean float64
	attemptsMax  int
	// lastFinal is the time from the end of the fault to the last message
	// final; negative when all were final before it ended.
	lastFinal time.Duration
	logLines  int
	notes     []string
	// hooksMissing are final messages whose final status never arrived as
	// a verified webhook; hooksUnsigned deliveries that did not verify.
	hooksMissing, hooksUnsigned int
}

// count compares the batch, the messages as the API reports them and what
// the sink received.
func (res *result) count(enqueued []string, msgs []message, received []smtptest.Message) {
	res.enqueued = len(enqueued)
	byID := make(map[string]message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	copies := make(map[string]int, len(received))
	for _, m := range received {
		copies[messageID(m.Data)]++
	}
	batch := make(map[string]bool, len(enqueued))
	stuckBy := map[string]int{}  // status → messages not final
	failedBy := map[string]int{} // last error → messages FAILED
	defer func() {
		for _, st := range slices.Sorted(maps.Keys(stuckBy)) {
			res.notes = append(res.notes, fmt.Sprintf("stuck in %s: %d", st, stuckBy[st]))
		}
		for _, e := range slices.Sorted(maps.Keys(failedBy)) {
			res.notes = append(res.notes, fmt.Sprintf("failed with %q: %d", e, failedBy[e]))
		}
	}()
	var last time.Time
	attempts := 0
	for _, id := range enqueued {
		batch[id] = true
		m := byID[id]
		final, at := m.final()
		switch {
		case !final:
			res.stuck++
			stuckBy[m.Status]++
		case at.After(last):
			last = at
		}
		if m.Status == "FAILED" {
			res.failed++
			if m.LastError != nil {
				failedBy[m.LastError.Category+": "+m.LastError.Message]++
			}
		}
		n := copies[id]
		if n == 0 && m.Status != "FAILED" && m.Status != "CANCELLED" && m.Status != "SUPPRESSED" {
			res.lost++
		}
		if n > 1 {
			res.duplicates += n - 1
			res.dupMsgs++
		}
		if final && at.Before(res.faultStart) {
			continue
		}
		res.inFault++
		during := 0
		for _, a := range m.Attempts {
			if !a.At.Before(res.faultStart) && !a.At.After(res.faultEnd) {
				during++
			}
		}
		attempts += during
		res.attemptsMax = max(res.attemptsMax, during)
	}
	for id := range copies {
		if !batch[id] {
			res.unknown += copies[id]
		}
	}
	if res.inFault > 0 {
		res.attemptsMean = float64(attempts) / float64(res.inFault)
	}
	if !last.IsZero() {
		res.lastFinal = last.Sub(res.faultEnd)
	}
}

// messageID returns the local part of a mail's Message-ID header, which is
// the message's id.
func messageID(data []byte) string {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(data))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	id := strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	local, _, _ := strings.Cut(id, "@")
	return local
}

func (res result) recovery() string {
	switch {
	case res.stuck > 0:
		return fmt.Sprintf("> %s", *recoveryFlag)
	case res.lastFinal <= 0:
		return "0 s"
	}
	return fmt.Sprintf("%.1f s", res.lastFinal.Seconds())
}

func (res result) line() string {
	return fmt.Sprintf("%s: enqueued %d, at the sink at the fault %d, lost %d, duplicates %d (%d messages), stuck %d, failed %d, unknown %d; attempts during the fault per message in flight (%d): mean %.2f, max %d; last final %s after the fault; webhooks missing %d, not verified %d; %d log lines; %s",
		res.scenario.name, res.enqueued, res.atFault, res.lost, res.duplicates, res.dupMsgs, res.stuck, res.failed, res.unknown,
		res.inFault, res.attemptsMean, res.attemptsMax, res.recovery(), res.hooksMissing, res.hooksUnsigned, res.logLines, strings.Join(res.notes, "; "))
}

// markdown renders the results as a table with its legend.
func markdown(results []result, messages int, mode string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d notifications per scenario, %s mode, recovery time %s (longer where a scenario says so: %s after a killed worker, 5m after 451s).\n\n", messages, mode, *recoveryFlag, rescueRecovery)
	b.WriteString("| scenario | fault | in flight | lost | duplicates | stuck | failed | attempts in fault (mean / max) | fault end → last final | webhooks missing | log lines | notes |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, r := range results {
		notes := strings.Join(r.notes, "; ")
		if r.unknown > 0 {
			notes = strings.TrimPrefix(notes+fmt.Sprintf("; %d unknown Message-IDs", r.unknown), "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d (%d msgs) | %d | %d | %.2f / %d | %s | %d | %d | %s |\n",
			r.scenario.name, r.scenario.fault, r.inFault, r.lost, r.duplicates, r.dupMsgs, r.stuck, r.failed,
			r.attemptsMean, r.attemptsMax, r.recovery(), r.hooksMissing, r.logLines, strings.ReplaceAll(notes, "|", "\\|"))
	}
	return b.String()
}
