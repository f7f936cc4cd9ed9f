package sender

import (
	"encoding/json"
	"fmt"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

// secretAAD binds a sealed secret to its tenant, so a ciphertext copied into
// another tenant's row does not open.
func secretAAD(tenant outbox.Tenant) []byte {
	return secret.AAD("sender-secret", tenant.ID.String())
}

// encodeDraft splits settings into the JSON stored beside a test (no
// secrets) and the sealed secret.
func (s *Service) encodeDraft(tenant outbox.Tenant, draft Settings) ([]byte, outbox.Sealed, error) {
	stored, err := json.Marshal(draft)
	if err != nil {
		return nil, outbox.Sealed{}, fmt.Errorf("encoding draft: %w", err)
	}
	var plain string
	switch {
	case draft.SMTP != nil:
		plain = draft.SMTP.Password
	case draft.HTTP != nil:
		plain = draft.HTTP.AuthValue
	}
	if plain == "" {
		return stored, outbox.Sealed{}, nil
	}
	sealed, err := s.keyring.Seal([]byte(plain), secretAAD(tenant))
	if err != nil {
		return nil, outbox.Sealed{}, fmt.Errorf("sealing secret: %w", err)
	}
	return stored, outbox.Sealed{KeyID: sealed.KeyID, Data: sealed.Data}, nil
}

// decodeDraft is the inverse of encodeDraft.
func (s *Service) decodeDraft(tenant outbox.Tenant, stored []byte, sealed outbox.Sealed) (Settings, error) {
	var draft Settings
	if err := json.Unmarshal(stored, &draft); err != nil {
		return Settings{}, fmt.Errorf("decoding draft: %w", err)
	}
	if !sealed.IsSet() {
		return draft, nil
	}
	plain, err := s.openSecret(tenant, sealed)
	if err != nil {
		return Settings{}, err
	}
	switch {
	case draft.SMTP != nil:
		draft.SMTP.Password = plain
	case draft.HTTP != nil:
		draft.HTTP.AuthValue = plain
	}
	return draft, nil
}

func (s *Service) openSecret(tenant outbox.Tenant, sealed outbox.Sealed) (string, error) {
	plain, err := s.keyring.Open(secret.Sealed{KeyID: sealed.KeyID, Data: sealed.Data}, secretAAD(tenant))
	if err != nil {
		return "", fmt.Errorf("opening stored secret: %w", err)
	}
	return string(plain), nil
}

func jsonBytes(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return b, nil
}
