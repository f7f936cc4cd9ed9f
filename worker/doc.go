// Package worker holds Outbox's River workers, one file per job kind. A
// worker reads like a paragraph: it decodes its job, calls the domain, and
// turns the outcome into River's retry, snooze or cancel.
package worker
