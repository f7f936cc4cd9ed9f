// Package pages serves the few HTML pages of Outbox itself, outside GraphQL
// and without a JWT:
//
//   - /verify, the page a verification link opens. GET only
//     shows the address and a "Verify" button, so mail scanners that fetch
//     links verify nothing; the button POSTs the token in the form body, and
//     only that verifies. The token is the credential, so there is no session
//     to forge a request for (CSRF) and no cookie at all.
//   - /dev/mailbox, the development mailbox: platform mail
//     caught in place of a relay, newest first, as HTML with clickable links
//     or as JSON. The app serves it only outside production.
//
// Pages are html/template (auto-escaped), uncacheable, unframeable and leak
// no Referer, since their URLs carry tokens.
package pages
