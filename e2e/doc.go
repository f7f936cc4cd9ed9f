// Package e2e holds end-to-end tests that run the outbox binary as separate
// processes (an API process and a worker process on one database), the way
// it is deployed, and talk to them over HTTP and websockets only.
package e2e
