// Package tenant provisions the tenants that tokens name. A tenant comes
// into being with the first request whose token carries its slug (the
// `tenant` claim); there is no separate sign-up. The service caches each
// tenant once seen, so that a request costs no statement for it.
package tenant
