// Package secret seals small secrets, such as a tenant's SMTP password or
// HTTP API key, for storage at rest, and opens them again.
//
// Secrets are encrypted with AES-256-GCM under a key from configuration
// (OUTBOX_SECRET_KEY). Every sealed value records the id of the key that
// sealed it, so keys can rotate: a Keyring holds one current key, used for
// everything sealed from now on, and any number of older keys that still
// open what they sealed. To rotate, put a new key first in the key spec and
// keep the old ones after it until everything has been sealed anew.
//
// Each secret is bound to its owner through additional authenticated data
// (AAD, see AAD): a ciphertext copied into another tenant's row, or from a
// password column into an API-key column, fails to open instead of
// revealing the secret to the wrong owner.
//
// A keyring also keys digests (NewMAC): HMAC-SHA256 under a key derived
// from each key with HKDF, for values such as a settings fingerprint that
// cover a secret and so must not be a plain hash anyone with a database
// dump could test guesses against. A digest records the key id it was made
// with and verifies as long as that key is configured.
//
// Key material never appears in errors or in a Keyring's printed form.
package secret
