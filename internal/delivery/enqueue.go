package delivery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
)

// enqueue writes drafts as messages in one transaction: their idempotency
// claims, their River jobs (InsertManyTx) and rows (one statement each for
// all messages and all first events). A draft whose idempotency key is
// already live is not written: the message of the first claim takes its
// place, provided the request is the same (else ECONFLICT). A draft whose every To and Cc address is suppressed is written
// SUPPRESSED, without a job. It returns one message per draft, in order.
func (s *Service) enqueue(ctx context.Context, sc *sendContext, drafts []draft) ([]dbsqlc.Message, error) {
	if err := s.markSuppressed(ctx, sc.tenant, drafts); err != nil {
		return nil, err
	}
	from := mailaddr.Format(sc.view.FromName, sc.view.FromEmail)
	out := make([]dbsqlc.Message, len(drafts))
	err := s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		// firstOf maps an idempotency key to the first draft that has it;
		// existing holds the messages of keys claimed before this call.
		firstOf, existing, err := s.claimKeys(ctx, tx, sc.tenant, drafts)
		if err != nil {
			return err
		}
		var fresh []int
		for i, d := range drafts {
			if k := d.idempotencyKey; k == "" || (existing[k] == nil && firstOf[k] == i) {
				fresh = append(fresh, i)
			}
		}
		rows, err := s.insert(ctx, tx, sc.tenant, from, drafts, fresh)
		if err != nil {
			return err
		}
		for i, d := range drafts {
			switch k := d.idempotencyKey; {
			case k != "" && existing[k] != nil:
				out[i] = *existing[k]
			case k != "":
				out[i] = rows[drafts[firstOf[k]].id]
			default:
				out[i] = rows[d.id]
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
// suppression list (one query) and marks the drafts with none left.
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
	found, err := s.deps.Store.Q().SuppressionFind(ctx, dbsqlc.SuppressionFindParams{TenantID: tenant.ID, Emails: addrs})
	if err != nil {
		return fmt.Errorf("reading suppressions: %w", err)
	}
	if len(found) == 0 {
		return nil
	}
	suppressed := make(map[string]bool, len(found))
	for _, a := range found {
		suppressed[a] = true
	}
	for i := range drafts {
		all := true
		var hit []string
		for _, a := range append(append([]string{}, drafts[i].to...), drafts[i].cc...) {
			if suppressed[strings.ToLower(a)] {
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
func (s *Service) claimKeys(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, drafts []draft) (map[string]int, map[string]*dbsqlc.Message, error) {
	firstOf := make(map[string]int)
	var keys []string
	var ids []uuid.UUID
	var hashes [][]byte
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
		keys = append(keys, k)
		ids = append(ids, d.id)
		hashes = append(hashes, d.requestHash)
	}
	existing := make(map[string]*dbsqlc.Message)
	if len(keys) == 0 {
		return firstOf, existing, nil
	}
	claimed, err := tx.Q.IdempotencyKeyClaim(ctx, dbsqlc.IdempotencyKeyClaimParams{
		TenantID: tenant.ID, Keys: keys, MessageIds: ids, PayloadHashes: hashes, TtlSeconds: s.opts.IdempotencyTTL.Seconds(),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("claiming idempotency keys: %w", err)
	}
	if len(claimed) == len(keys) {
		return firstOf, existing, nil
	}
	mine := make(map[string]bool, len(claimed))
	for _, k := range claimed {
		mine[k] = true
	}
	var taken []string
	for _, k := range keys {
		if !mine[k] {
			taken = append(taken, k)
		}
	}
	rows, err := tx.Q.IdempotencyKeyMessages(ctx, dbsqlc.IdempotencyKeyMessagesParams{TenantID: tenant.ID, Keys: taken})
	if err != nil {
		return nil, nil, fmt.Errorf("reading messages of idempotency keys: %w", err)
	}
	for _, r := range rows {
		// A claim made before payload hashes were kept has none; it
		// matches any request until it expires.
		if r.PayloadHash != nil && !bytes.Equal(r.PayloadHash, drafts[firstOf[r.IdempotencyKey]].requestHash) {
			return nil, nil, reusedKey(r.IdempotencyKey)
		}
		existing[r.IdempotencyKey] = &r.Message
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
// its normalized recipients, template or subject and bodies, variables and
// attachments. The same request gives the same hash whatever the templates
// render meanwhile; any difference gives another.
func requestHash(d draft, in SendInput, atts []attachment) ([]byte, error) {
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
	return h.Sum(nil), nil
}

// insert writes the drafts numbered fresh: River jobs for those not
// suppressed, then the message rows with their job ids, then their first
// events. It returns the rows by message id, without their payloads.
func (s *Service) insert(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, from string, drafts []draft, fresh []int) (map[uuid.UUID]dbsqlc.Message, error) {
	if len(fresh) == 0 {
		return nil, nil
	}
	jobIDs := make(map[uuid.UUID]int64, len(fresh))
	var params []river.InsertManyParams
	for _, i := range fresh {
		if drafts[i].suppressed == nil {
			params = append(params, river.InsertManyParams{
				Args:       JobArgs{TenantID: tenant.ID, MessageID: drafts[i].id},
				InsertOpts: s.insertOpts(),
			})
		}
	}
	if len(params) > 0 {
		jobs, err := s.deps.Jobs.InsertManyTx(ctx, tx, params)
		if err != nil {
			return nil, fmt.Errorf("enqueueing deliveries: %w", err)
		}
		for i, j := range jobs {
			jobIDs[params[i].Args.(JobArgs).MessageID] = j.Job.ID
		}
	}

	p := dbsqlc.MessageInsertManyParams{TenantID: tenant.ID}
	ev := dbsqlc.MessageEventInsertManyParams{TenantID: tenant.ID}
	for _, i := range fresh {
		d := drafts[i]
		to, err := json.Marshal(d.to)
		if err != nil {
			return nil, fmt.Errorf("encoding recipients: %w", err)
		}
		cc, err := json.Marshal(d.cc)
		if err != nil {
			return nil, fmt.Errorf("encoding recipients: %w", err)
		}
		status, detail := outbox.StatusQueued, "queued"
		if d.resentFrom != uuid.Nil {
			detail = "queued again as a resend of " + d.resentFrom.String()
		}
		if d.suppressed != nil {
			status, detail = outbox.StatusSuppressed, "not sent: suppressed address "+strings.Join(d.suppressed, ", ")
		}
		p.Ids = append(p.Ids, d.id)
		p.Kinds = append(p.Kinds, string(outbox.KindNotification))
		p.Statuses = append(p.Statuses, string(status))
		p.FromAddrs = append(p.FromAddrs, from)
		p.ToAddrs = append(p.ToAddrs, to)
		p.CcAddrs = append(p.CcAddrs, cc)
		p.Subjects = append(p.Subjects, d.subject)
		p.TemplateKeys = append(p.TemplateKeys, d.templateKey)
		p.IdempotencyKeys = append(p.IdempotencyKeys, d.idempotencyKey)
		p.Payloads = append(p.Payloads, d.payload)
		p.JobIds = append(p.JobIds, jobIDs[d.id])
		p.ResentFroms = append(p.ResentFroms, d.resentFrom)
		ev.MessageIds = append(ev.MessageIds, d.id)
		ev.Statuses = append(ev.Statuses, string(status))
		ev.Details = append(ev.Details, detail)
	}
	rows, err := tx.Q.MessageInsertMany(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("recording messages: %w", err)
	}
	if err := tx.Q.MessageEventInsertMany(ctx, ev); err != nil {
		return nil, fmt.Errorf("recording message events: %w", err)
	}
	out := make(map[uuid.UUID]dbsqlc.Message, len(rows))
	for _, r := range rows {
		out[r.ID] = dbsqlc.Message(r)
	}
	return out, nil
}
