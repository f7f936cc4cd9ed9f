package db

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// RegisterTypes teaches a connection to send github.com/google/uuid values
// as binary UUIDs; set it as pgxpool.Config.AfterConnect. Without it pgx
// goes through uuid's driver.Valuer: it formats every UUID parameter as
// text, fails to encode that text as a binary UUID, and retries the
// parameter in text format, which was a tenth of the delivery worker's CPU
// time (docs/benchmarks.md). Values are the same either way. It never
// fails.
func RegisterTypes(_ context.Context, conn *pgx.Conn) error {
	registerUUID(conn.TypeMap())
	return nil
}

func registerUUID(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{wrapUUIDEncodePlan}, m.TryWrapEncodePlanFuncs...)
}

// wrapUUIDEncodePlan hands uuid.UUID and uuid.NullUUID to pgx's UUID codec
// as pgtype.UUID.
func wrapUUIDEncodePlan(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	switch v := value.(type) {
	case uuid.UUID:
		return &uuidEncodePlan{}, pgtype.UUID{Bytes: v, Valid: true}, true
	case uuid.NullUUID:
		return &uuidEncodePlan{}, pgtype.UUID{Bytes: v.UUID, Valid: v.Valid}, true
	}
	return nil, nil, false
}

type uuidEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	switch v := value.(type) {
	case uuid.UUID:
		return p.next.Encode(pgtype.UUID{Bytes: v, Valid: true}, buf)
	case uuid.NullUUID:
		return p.next.Encode(pgtype.UUID{Bytes: v.UUID, Valid: v.Valid}, buf)
	}
	return p.next.Encode(value, buf)
}
