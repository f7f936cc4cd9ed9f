package db

import "github.com/outbox/outbox/internal/outbox"

// sealedFromColumns maps a secret's two nullable columns (key id, data) to
// the domain's Sealed.
func sealedFromColumns(keyID *string, data []byte) outbox.Sealed {
	if keyID == nil {
		return outbox.Sealed{Data: data}
	}
	return outbox.Sealed{KeyID: *keyID, Data: data}
}

// sealedColumns is the inverse of sealedFromColumns: NULLs for no secret.
func sealedColumns(s outbox.Sealed) (*string, []byte) {
	if s.KeyID == "" {
		return nil, s.Data
	}
	id := s.KeyID
	return &id, s.Data
}
