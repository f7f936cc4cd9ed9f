// Package loglimit holds a slog.Handler that keeps log lines bounded and
// free of secrets: it wraps the real handler, cuts long string, error and
// byte values (and the message) to a maximum length, and replaces the value
// of every attribute whose key names a secret (password, token, authValue,
// …) with "[redacted]". Whatever a request carries, an error string quoting
// it cannot make a log line large, and a credential logged by mistake under
// its own name does not reach the log.
package loglimit
