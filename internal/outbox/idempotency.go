package outbox

import "github.com/google/uuid"

// IdempotencyClaim is a caller's idempotency key claimed for a message:
// while the claim lives, a repeat of the same request returns that message
// instead of sending another.
type IdempotencyClaim struct {
	Key       string
	MessageID uuid.UUID
	// RequestHash identifies the request the key was first used with; nil
	// for a claim made before hashes were kept (it matches any request).
	RequestHash []byte
}
