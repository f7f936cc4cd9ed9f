package delivery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// enqueue writes drafts as messages in one transaction: their idempotency
// claims, their River jobs (InsertManyTx) and rows (one statement each for
// all messages and all first events). A draft whose idempotency key is
// already live is not written: the message of the first claim takes its
// place, provided the request is the same (else ECONFLICT). A draft whose
// every To and Cc address is suppressed is written SUPPRESSED, without a
// job; the others go in the tenant's fast lane as far as it has room,
// the rest in the bulk lanes (fair.go). The senders used are held
// (SenderLockShared) so that none is deleted under the new messages, and the messages to send count against
// the tenant's daily quota (ERATELIMITED over it, nothing written). It
// returns one message per draft, in order.
func (s *Service) enqueue(ctx context.Context, sc *sendContext, drafts []draft) ([]outbox.Message, error) {
	if err := s.markSuppressed(ctx, sc.tenant, drafts); err != nil {
		return nil, err
	}
	if err := s.takeLane(ctx, sc.tenant, drafts); err != nil {
		return nil, err
	}
	out := make([]outbox.Message, len(drafts))
	err := s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		for _, key := range slices.Sorted(maps.Keys(sc.senders)) {
			if err := tx.SenderLockShared(ctx, sc.tenant.ID, key); err != nil {
				if outbox.ErrorCode(err) == outbox.ENOTFOUND {
					return outbox.Invalid("sender", "the sender %q was deleted meanwhile", key)
				}
				return err
			}
		}
		// firstOf maps an idempotency key to the first draft that has it;
		// existing holds the messages of keys claimed before this call.
		firstOf, existing, err := s.claimKeys(ctx, tx, sc.tenant, drafts)
		if err != nil {
			return err
		}
		var fresh []int
		queued := 0
		for i, d := range drafts {
			if k := d.idempotencyKey; k == "" || (existing[k] == nil && firstOf[k] == i) {
				fresh = append(fresh, i)
				if d.suppressed == nil {
					queued++
				}
			}
		}
		if err := s.countQuota(ctx, tx, sc.tenant, queued); err != nil {
			return err
		}
		msgs, err := s.insert(ctx, tx, sc, drafts, fresh)
		if err != nil {
			return err
		}
		for i, d := range drafts {
			switch k := d.idempotencyKey; {
			case k != "" && existing[k] != nil:
				out[i] = *existing[k]
			case k != "":
				out[i] = msgs[drafts[firstOf[k]].id]
			default:
				out[i] = msgs[d.id]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// markSuppressed looks up the drafts' To and Cc addresses in the tenant's
// suppression list (one query) and marks the drafts with none left: an
// address suppressed for SUBSCRIPTION mail only still gets TRANSACTIONAL
// mail.
func (s *Service) markSuppressed(ctx context.Context, tenant outbox.Tenant, drafts []draft) error {
	var addrs []string
	for _, d := range drafts {
		for _, a := range d.to {
			addrs = append(addrs, strings.ToLower(a))
		}
		for _, a := range d.cc {
			addrs = append(addrs, strings.ToLower(a))
		}
	}
	found, err := s.deps.Store.SuppressionFind(ctx, tenant.ID, addrs)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return nil
	}
	for i := range drafts {
		all := true
		var hit []string
		for _, a := range append(append([]string{}, drafts[i].to...), drafts[i].cc...) {
			if scope, ok := found[strings.ToLower(a)]; ok && scope.Blocks(drafts[i].category) {
				hit = append(hit, a)
			} else {
				all = false
			}
		}
		if all {
			drafts[i].suppressed = hit
		}
	}
	return nil
}

// claimKeys claims the drafts' idempotency keys in tx. It returns the first
// draft of each key and, for keys a live earlier claim holds, that claim's
// message. A concurrent call with the same key waits on the claim until the
// first transaction ends, then finds its message.
func (s *Service) claimKeys(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, drafts []draft) (map[string]int, map[string]*outbox.Message, error) {
	firstOf := make(map[string]int)
	var claims []outbox.IdempotencyClaim
	for i, d := range drafts {
		k := d.idempotencyKey
		if k == "" {
			continue
		}
		if first, seen := firstOf[k]; seen {
			if !bytes.Equal(drafts[first].requestHash, d.requestHash) {
				return nil, nil, reusedKey(k)
			}
			continue
		}
		firstOf[k] = i
		claims = append(claims, outbox.IdempotencyClaim{Key: k, MessageID: d.id, RequestHash: d.requestHash})
	}
	existing := make(map[string]*outbox.Message)
	if len(claims) == 0 {
		return firstOf, existing, nil
	}
	claimed, err := tx.IdempotencyKeyClaim(ctx, tenant.ID, claims, s.opts.IdempotencyTTL)
	if err != nil {
		return nil, nil, err
	}
	if len(claimed) == len(claims) {
		return firstOf, existing, nil
	}
	mine := make(map[string]bool, len(claimed))
	for _, k := range claimed {
		mine[k] = true
	}
	var taken []string
	for _, c := range claims {
		if !mine[c.Key] {
			taken = append(taken, c.Key)
		}
	}
	held, err := tx.IdempotencyKeyMessages(ctx, tenant.ID, taken)
	if err != nil {
		return nil, nil, err
	}
	for _, h := range held {
		// A claim made before payload hashes were kept has none; it
		// matches any request until it expires.
		if h.Claim.RequestHash != nil && !bytes.Equal(h.Claim.RequestHash, drafts[firstOf[h.Claim.Key]].requestHash) {
			return nil, nil, reusedKey(h.Claim.Key)
		}
		existing[h.Claim.Key] = &h.Message
	}
	for _, k := range taken {
		if existing[k] == nil {
			// The claim expired between the two statements: rare enough
			// that the caller may simply try again.
			return nil, nil, outbox.Errorf(outbox.ECONFLICT, "idempotency key %q changed hands during the request: try again", k)
		}
	}
	return firstOf, existing, nil
}

// reusedKey is the error for an idempotency key used again, while its claim
// lives, with a different request.
func reusedKey(key string) error {
	return outbox.Errorf(outbox.ECONFLICT, "idempotency key %q was already used for a different notification: send the same notification again, or use a new key for a new one", key)
}

// requestHash returns the SHA-256 of what a caller asked for in a draft:
// its normalized recipients, sender, template or subject and bodies, variables,
// attachments and options (metadata, tags, headers, sendAt). The same request
// gives the same hash whatever the templates render meanwhile; any difference
// gives another.
func requestHash(d draft, in SendInput, p payload) ([]byte, error) {
	atts := p.Attachments
	vars, err := json.Marshal(in.Variables) // map keys sorted
	if err != nil {
		return nil, fmt.Errorf("encoding variables: %w", err)
	}
	h := sha256.New()
	str := func(s string) {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	str("outbox/send-request/v1")
	for _, list := range [][]string{d.to, d.cc} {
		str(strconv.Itoa(len(list)))
		for _, a := range list {
			str(strings.ToLower(a))
		}
	}
	if d.sender != outbox.DefaultSender {
		// Left out for the default sender, so that a key claimed before
		// senders existed still matches its request.
		str("sender:" + d.sender)
	}
	str(in.Template)
	str(in.Subject)
	str(in.Text)
	str(in.HTML)
	str(string(vars))
	str(strconv.Itoa(len(atts)))
	for _, a := range atts {
		str(a.Filename)
		str(a.ContentType)
		str(string(a.Data))
	}
	// The options are hashed only when given, so that a key claimed before
	// they existed still matches its request.
	if d.metadata != nil {
		str("metadata:" + string(d.metadata)) // keys sorted
	}
	if len(d.tags) > 0 {
		tags := slices.Sorted(slices.Values(d.tags))
		str("tags:" + strconv.Itoa(len(tags)))
		for _, t := range tags {
			str(t)
		}
	}
	if len(p.Headers) > 0 {
		str("headers:" + strconv.Itoa(len(p.Headers)))
		for _, name := range slices.Sorted(maps.Keys(p.Headers)) {
			str(strings.ToLower(name))
			str(p.Headers[name])
		}
	}
	if d.sendAt != nil {
		str("sendAt:" + d.sendAt.UTC().Format(time.RFC3339Nano))
	}
	return h.Sum(nil), nil
}

// insert writes the drafts numbered fresh: River jobs for those not
// suppressed, at the priority of their lane (fair.go) and in chunks
// (chunk.go), then the messages with their job ids and first events
// (Tx.NotificationInsertMany). It returns the messages by id.
func (s *Service) insert(ctx context.Context, tx *db.Tx, sc *sendContext, drafts []draft, fresh []int) (map[uuid.UUID]outbox.Message, error) {
	if len(fresh) == 0 {
		return nil, nil
	}
	tenant := sc.tenant
	var queue []int
	for _, i := range fresh {
		if drafts[i].suppressed == nil {
			queue = append(queue, i)
		}
	}
	jobIDs := make(map[uuid.UUID]int64, len(queue))
	if params, owner := s.chunkParams(tenant.ID, drafts, queue); len(params) > 0 {
		jobs, err := s.deps.Jobs.InsertManyTx(ctx, tx, params)
		if err != nil {
			return nil, fmt.Errorf("enqueueing deliveries: %w", err)
		}
		for _, i := range queue {
			jobIDs[drafts[i].id] = jobs[owner[i]].Job.ID
		}
	}

	news := make([]db.NewMessage, len(fresh))
	for n, i := range fresh {
		d := drafts[i]
		status, detail := outbox.StatusQueued, "queued"
		if d.resentFrom != uuid.Nil {
			detail = "queued again as a resend of " + d.resentFrom.String()
		}
		if d.sendAt != nil {
			status, detail = outbox.StatusScheduled, "scheduled for "+d.sendAt.UTC().Format(time.RFC3339)
		}
		if d.suppressed != nil {
			status, detail = outbox.StatusSuppressed, "not sent: suppressed address "+strings.Join(d.suppressed, ", ")
		}
		news[n] = db.NewMessage{
			ID: d.id, Sender: d.sender, Kind: outbox.KindNotification, Status: status, From: sc.senders[d.sender].from, To: d.to, Cc: d.cc,
			Subject: d.subject, Template: d.templateKey, Category: d.category, IdempotencyKey: d.idempotencyKey, Payload: d.payload,
			JobID: jobIDs[d.id], ResentFrom: d.resentFrom, Detail: detail,
			Metadata: d.metadata, Tags: d.tags, SendAt: d.sendAt,
		}
	}
	msgs, err := tx.NotificationInsertMany(ctx, tenant.ID, news)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]outbox.Message, len(msgs))
	for _, m := range msgs {
		out[m.ID] = m
	}
	return out, nil
}

// countQuota counts n more notifications against the tenant's daily quota
// in tx, when its plan has one. Over the quota it returns ERATELIMITED with
// the time until the next UTC day, and counts nothing.
func (s *Service) countQuota(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, n int) error {
	quota := s.deps.Senders.Entitlements(tenant).DailyQuota
	if quota == nil || n == 0 {
		return nil
	}
	now := time.Now()
	ok, err := tx.TenantUsageAdd(ctx, tenant.ID, now, n, *quota)
	if err != nil || ok {
		return err
	}
	day := now.UTC().Truncate(24 * time.Hour)
	return &outbox.Error{
		Code:       outbox.ERATELIMITED,
		Message:    fmt.Sprintf("your plan allows %d notifications per day (UTC) and this would exceed it: send again after midnight UTC, or ask the platform for a larger plan", *quota),
		RetryAfter: day.Add(24 * time.Hour).Sub(now),
	}
}
