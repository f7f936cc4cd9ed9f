// Package reputation keeps each tenant's reputation on the platform relay:
// how much of its relayed mail (senders in PLATFORM or BRANDED mode) was
// sent, bounced and complained about over a rolling window, counted per
// tenant and UTC hour (db: tenant_reputation), and the automatic pause of a
// tenant whose bounce or complaint rate is above the thresholds.
//
// Sends are counted by the statement that marks a message SENT
// (db.StatusChange.Relayed); bounces and complaints by CountReportTx, in
// the transaction that records the report, which also checks the
// thresholds and pauses the tenant through the operator's pause
// (operator.SetStatusTx), so that a report and the pause it causes commit
// together. Mail through a tenant's own SMTP server or HTTP API is the
// tenant's own reputation with its provider, not the platform's: it is
// neither counted nor paused for.
//
// The rates are bounces and complaints counted in the window over
// messages sent in it, so a late bounce of mail sent before the window
// counts against the mail sent since: the price of hourly counters, which
// the minimum volume keeps small. Reinstating forgets the counts (the
// window starts at the reinstatement), so the reports that caused a pause
// cannot cause another at once.
package reputation
