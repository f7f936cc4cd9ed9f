package outbox

// Sealed is a secret as stored: the ciphertext and the id of the key that
// sealed it. The zero value is "no secret".
type Sealed struct {
	KeyID string
	Data  []byte
}

// IsSet reports whether a secret is stored.
func (s Sealed) IsSet() bool { return s.KeyID != "" && len(s.Data) > 0 }
