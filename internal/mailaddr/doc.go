// Package mailaddr holds the rules for what goes into the address and header
// fields of a mail: parsing and normalizing email addresses (internationalized
// domains become A-labels), display names, address lists such as a BCC list,
// and the checks that keep a value from breaking out of its header line.
//
// There are two sets of rules, on purpose:
//
//   - Input rules decide what a tenant or an API caller may enter, with
//     messages that say how to fix it: [Normalize] (a bare ASCII addr-spec
//     with a fully qualified domain), [ParseBCC], [CheckDisplayName] (one
//     line, also without U+2028/U+2029, at most [MaxDisplayNameRunes]) and
//     [CheckHeaderValue] (a raw value such as an API key, sent byte for
//     byte). The sender settings, delivery and verification use them.
//   - Wire rules decide what the transport can carry, whatever the domain
//     already checked: [Parse] (any RFC 5322 mailbox, display name allowed,
//     the domain converted to A-labels) and [CheckHeaderText] (valid UTF-8
//     without control characters, for text that is encoded into a header).
//     They are looser than the input rules because the transport also
//     carries addresses and names from the operator's configuration and
//     attachment names the input rules let through; they refuse only what
//     could inject a header or cannot be encoded.
//
// Every failure is an outbox.EINVALID error whose Field is the field given.
package mailaddr
