// Package events carries status changes from the process that commits them
// to the subscribers of every API process.
//
// A change is NOTIFYed on db.ChangesChannel in the transaction that makes
// it (db.Tx.SetMessageStatus, db.Tx.NotifySenderTest), so it is sent only
// if and when the change commits, in commit order. Each API process holds
// one Hub, which LISTENs on one connection of its own (opened on the first
// subscription, reopened with backoff when it breaks) and fans the changes
// out in memory: the changed row is loaded once per change, not once per
// subscriber, and handed to every subscriber interested in it. A
// subscriber that does not keep up is dropped (Subscription.Err is
// ErrSlow) rather than allowed to hold the others back. After the
// connection is reopened every subscriber gets a resync event: changes may
// have been missed meanwhile, and it must re-read the current state.
//
// Payloads carry ids only (well under Postgres' 8000-byte NOTIFY limit):
//
//	{"k":"m","t":"<tenant id>","id":"<message id>","s":"<status>","e":<event id>}
//	{"k":"t","t":"<tenant id>","id":"<sender test id>","s":"<status>"}
package events
