package transport

// Hints for SMTP, network and TLS failures, in words a shop owner can act
// on. They are part of the API: the web app shows them as they are.
const (
	hintAuth            = "wrong username or app password; Gmail and Microsoft 365 need an app password once 2-step verification is on"
	hintCert            = "use the provider's host name (as on the certificate), or for a self-signed server tick 'skip TLS certificate verification'"
	hintStartTLS        = "the server wants STARTTLS: choose STARTTLS (usually port 587)"
	hintNeedsLogin      = "the server wants a login: choose an auth method and enter username and password"
	hintConnect         = "check host and port; a firewall may block it"
	hintTimeout         = "the server did not answer in time: check host and port; a firewall may block it"
	hintGreeting        = "the server accepted the connection but did not greet: check that security matches the port (465 uses implicit TLS, 587 and 25 use STARTTLS)"
	hintMismatch        = "security and port do not match: port 465 uses implicit TLS, ports 587 and 25 use STARTTLS"
	hintDNS             = "host name not found: check the spelling of the host (for example smtp.gmail.com)"
	hintDNSTemporary    = "the host name could not be looked up just now; Outbox will try again"
	hintNoStartTLS      = "the server does not offer STARTTLS on this port: for port 465 choose implicit TLS, otherwise ask your provider for the STARTTLS port (usually 587); Outbox never falls back to sending unencrypted"
	hintNoAuth          = "the server does not ask for a login here: choose auth NONE, or check host and port"
	hintMechanism       = "the server does not support this login method: choose one it offers"
	hintNoXOAuth2       = "the server does not offer XOAUTH2 (OAuth) login: use your provider's SMTP host that takes OAuth (smtp.gmail.com, smtp.office365.com), or log in with a password"
	hintPlaintextBearer = "the OAuth bearer token would travel unencrypted: choose STARTTLS or IMPLICIT_TLS"
	hintPlaintext       = "your password would travel unencrypted: choose STARTTLS or implicit TLS"
	hintTLS             = "the secure connection could not be set up: check that security matches the port (465 uses implicit TLS, 587 and 25 use STARTTLS)"
	hintThrottled       = "your provider is limiting how much you send; Outbox pauses this account and resumes automatically"
	hintRetry           = "a temporary problem at the server; Outbox will try again"
	hintDropped         = "the server closed the connection; Outbox will try again"
	hintDroppedEarly    = "the server closed the connection at once: check that security matches the port (465 uses implicit TLS, 587 and 25 use STARTTLS)"
	hintStalled         = "the server stopped answering; Outbox will try again"
	hintBlocked         = "the server refused the connection; ask your provider whether it blocks this sender"
	hintNoSuchUser      = "the recipient's address does not exist: check it for typos"
	hintRecipient       = "the server refused this recipient: check the address"
	hintMailboxFull     = "the recipient's mailbox is full; they need to make room"
	hintRelay           = "the server does not pass mail on for you: choose an auth method and log in, and use a From address that belongs to the account"
	hintSender          = "the server refused the From address: use an address that belongs to this account"
	hintContent         = "the server refused the message (spam or policy filter): check the text, links and attachments"
	hintTooBig          = "the message is too large for the server: send smaller attachments"
	hintCancelled       = "sending was stopped before it finished; Outbox will try again"
)

// HTTP hints.
const (
	hintHTTPAuth     = "the mail API refused the credentials: check the auth header name and value"
	hintHTTPURL      = "check the URL of the mail API"
	hintHTTPRedirect = "the URL redirects elsewhere: enter the final URL of the mail API"
	hintHTTPRejected = "the mail API refused the message: its answer says why"
)

// Hints for providers' mail APIs.
const (
	hintNativeRedirect = "the API answered with a redirect: leave the base URL empty to use the provider's, or enter its final URL"
	hintNativeBaseURL  = "check the base URL override, or leave it empty to use the provider's"
)
