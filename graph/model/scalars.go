package model

import (
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/outbox/outbox/internal/outbox"
)

// The scalars Time and JSON as gqlgen's, except that a value that cannot be
// read is a BAD_REQUEST (gqlgen's plain errors would be shown as INTERNAL),
// with a message that does not repeat the value.

// MarshalTime writes t in RFC 3339 (null for the zero time).
func MarshalTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t) }

// UnmarshalTime reads an RFC 3339 time; anything else is EBADREQUEST.
func UnmarshalTime(v any) (time.Time, error) {
	t, err := graphql.UnmarshalTime(v)
	if err != nil {
		return time.Time{}, outbox.Errorf(outbox.EBADREQUEST, "not a time: use RFC 3339, such as 2024-05-01T12:00:00Z")
	}
	return t, nil
}

// MarshalMap writes a JSON object.
func MarshalMap(m map[string]any) graphql.Marshaler { return graphql.MarshalMap(m) }

// UnmarshalMap reads a JSON object; anything else is EBADREQUEST.
func UnmarshalMap(v any) (map[string]any, error) {
	m, err := graphql.UnmarshalMap(v)
	if err != nil {
		return nil, outbox.Errorf(outbox.EBADREQUEST, "not a JSON object")
	}
	return m, nil
}
