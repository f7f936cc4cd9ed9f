package outbox

// ReportKind is what a report mailed back about a relayed message says: it
// bounced for good, or its recipient complained.
type ReportKind string

// The kinds of report that count toward a tenant's reputation.
const (
	// ReportBounce is a hard bounce: the address does not take mail.
	ReportBounce ReportKind = "bounce"
	// ReportComplaint is a spam complaint (an ARF report).
	ReportComplaint ReportKind = "complaint"
)
