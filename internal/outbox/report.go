package outbox

// ReportKind is what a report mailed back about a platform-relayed message
// says, as tenant reputation counts it.
type ReportKind string

// The report kinds.
const (
	// ReportBounce: a hard bounce, the recipient's mailbox does not exist.
	ReportBounce ReportKind = "BOUNCE"
	// ReportComplaint: the recipient reported the message as spam.
	ReportComplaint ReportKind = "COMPLAINT"
)
