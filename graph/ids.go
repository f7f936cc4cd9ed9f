package graph

import (
	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/outbox"
)

// parseID reads a GraphQL ID. A malformed one is reported like an unknown
// one, NOT_FOUND, so ids reveal nothing.
func parseID(id, what string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, outbox.Errorf(outbox.ENOTFOUND, "%s not found", what)
	}
	return u, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
