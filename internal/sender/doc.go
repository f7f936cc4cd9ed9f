// Package sender is the domain of a tenant's sender settings: the modes
// (PLATFORM, BRANDED, SMTP, HTTP), their validation and encoding rules, the provider presets
// and their limits, and the test-before-save flow (a draft is tested by a
// River job; only a passed test with the same fingerprint can be saved).
package sender
