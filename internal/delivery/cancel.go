package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// errSending refuses to cancel a message a worker is sending.
var errSending = outbox.Errorf(outbox.ECONFLICT, "the message is being sent right now and can no longer be cancelled")

// Cancel stops a notification that was not sent yet (SCHEDULED, QUEUED or RETRYING,
// or SENDING when the worker sending it stopped and River rescued its job):
// its River job is cancelled (JobCancelTx; a chunk's job is left to its
// other messages) and the message becomes CANCELLED in one transaction. The
// message row's lock orders a cancel and a delivery about to start, so a
// cancelled message is never sent. It returns
// ENOTFOUND for an unknown id and ECONFLICT, saying why, for a message that
// is being sent, already final, or not a notification.
func (s *Service) Cancel(ctx context.Context, id uuid.UUID) (outbox.Message, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.Message{}, err
	}
	var msg outbox.Message
	err = s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		lock, err := tx.MessageLock(ctx, tenant.ID, id)
		if err != nil {
			return err
		}
		if lock.Kind != outbox.KindNotification {
			return outbox.Errorf(outbox.ECONFLICT, "only notifications can be cancelled; this is a %s message", lock.Kind)
		}
		switch lock.Status {
		case outbox.StatusScheduled, outbox.StatusQueued, outbox.StatusRetrying, outbox.StatusSending:
		default:
			return outbox.Errorf(outbox.ECONFLICT, "the message is already %s", lock.Status)
		}
		if lock.JobID == 0 {
			if lock.Status == outbox.StatusSending {
				return errSending
			}
		} else {
			state, kind, err := tx.DeliveryJobStateLock(ctx, lock.JobID)
			if err != nil && outbox.ErrorCode(err) != outbox.ENOTFOUND {
				return err
			}
			// SENDING with a job that no longer runs: its worker stopped
			// mid-attempt and River has rescued the job (rescue.go).
			if lock.Status == outbox.StatusSending && state == rivertype.JobStateRunning {
				return errSending
			}
			// A chunk's job carries other messages too: it stays, and
			// skips this one once it is CANCELLED (chunk.go).
			if kind == (JobArgs{}).Kind() {
				if _, err := s.deps.Jobs.JobCancelTx(ctx, tx, lock.JobID); err != nil && !errors.Is(err, river.ErrNotFound) {
					return fmt.Errorf("cancelling delivery job: %w", err)
				}
			}
		}
		msg, err = tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenant.ID, MessageID: id, Status: outbox.StatusCancelled, Detail: "cancelled"})
		return err
	})
	return msg, err
}

// Resend sends a notification again as a new message linked to the old one
// (resentFrom): same recipients, subject, bodies, attachments, custom
// headers, metadata and tags, at once (a sendAt is not repeated), through
// the current settings of the same sender, and subject to the suppression list as any
// send. It returns ENOTFOUND for an unknown id and ECONFLICT for a message
// still on its way (cancel it first) or not a notification.
func (s *Service) Resend(ctx context.Context, id uuid.UUID) (outbox.Message, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.Message{}, err
	}
	orig, payload, err := s.deps.Store.MessageGetWithPayload(ctx, tenant.ID, id)
	if err != nil {
		return outbox.Message{}, err
	}
	if orig.Kind != outbox.KindNotification {
		return outbox.Message{}, outbox.Errorf(outbox.ECONFLICT, "only notifications can be resent; this is a %s message", orig.Kind)
	}
	if deliverable(orig.Status) {
		return outbox.Message{}, outbox.Errorf(outbox.ECONFLICT, "the message is still on its way (%s): cancel it first, or wait until it is sent", orig.Status)
	}
	sc, err := s.sendContext(ctx, tenant, nil)
	if err != nil {
		return outbox.Message{}, err
	}
	if err := sc.useSender(ctx, s, "", orig.Sender); err != nil {
		return outbox.Message{}, err
	}
	d := draft{
		id: uuid.New(), sender: orig.Sender, to: orig.To, cc: orig.Cc, subject: orig.Subject, templateKey: orig.Template,
		category: orig.Category,
		payload:  payload, resentFrom: orig.ID, tags: orig.Tags,
	}
	if orig.Metadata != nil {
		if d.metadata, err = json.Marshal(orig.Metadata); err != nil {
			return outbox.Message{}, fmt.Errorf("encoding metadata: %w", err)
		}
	}
	msgs, err := s.enqueue(ctx, sc, []draft{d})
	if err != nil {
		return outbox.Message{}, err
	}
	return msgs[0], nil
}
