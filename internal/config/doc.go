// Package config is Outbox's one configuration struct: loaded once in cmd from
// environment variables and matching flags, validated with errors that name
// the variable, and passed down. Development secrets are generated on first
// use and kept in the data directory; in production a missing secret is an
// error.
package config
