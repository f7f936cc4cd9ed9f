package outbox

import (
	"time"

	"github.com/google/uuid"
)

// DomainStatus is where a sending domain stands: PENDING until its DKIM
// record is seen, VERIFIED while it matches, FAILED when a verified
// domain's record went missing or stopped matching.
type DomainStatus string

// The statuses of a sending domain.
const (
	DomainPending  DomainStatus = "PENDING"
	DomainVerified DomainStatus = "VERIFIED"
	DomainFailed   DomainStatus = "FAILED"
)

// DNSRecordPurpose is what a record a tenant publishes is for.
type DNSRecordPurpose string

// The purposes of a sending domain's records.
const (
	PurposeDKIM       DNSRecordPurpose = "DKIM"
	PurposeSPF        DNSRecordPurpose = "SPF"
	PurposeDMARC      DNSRecordPurpose = "DMARC"
	PurposeReturnPath DNSRecordPurpose = "RETURN_PATH"
)

// DNSRecordStatus is what a check found for one record.
type DNSRecordStatus string

// The statuses of one record.
const (
	RecordPending  DNSRecordStatus = "PENDING"
	RecordVerified DNSRecordStatus = "VERIFIED"
	RecordMismatch DNSRecordStatus = "MISMATCH"
	RecordMissing  DNSRecordStatus = "MISSING"
)

// DNSRecord is one record a tenant publishes for a sending domain: what to
// publish (Type, Name, Value), what the last check found there and, when it
// is not right, a hint what to change.
type DNSRecord struct {
	Purpose DNSRecordPurpose `json:"purpose"`
	Type    string           `json:"type"`
	Name    string           `json:"name"`
	Value   string           `json:"value"`
	Status  DNSRecordStatus  `json:"status"`
	Found   []string         `json:"found"`
	Hint    string           `json:"hint,omitempty"`
	// Pending marks the DKIM record of a rotation's new key.
	Pending bool `json:"pending,omitempty"`
}

// SendingDomain is a domain a tenant sends BRANDED mail from, with its DKIM
// keys (sealed) and the records of its last check.
type SendingDomain struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	// Domain is lower-case ASCII.
	Domain string
	Status DomainStatus
	// Selector and Key are the DKIM key that signs (Key sealed PKCS #8 DER).
	Selector string
	Key      Sealed
	// PendingSelector and PendingKey are a rotation's new key, "" and unset
	// without one.
	PendingSelector string
	PendingKey      Sealed
	Records         []DNSRecord
	LastCheckedAt   *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}
