-- 014_unsubscribe: template categories and one-click unsubscribe (README.md,
-- "Unsubscribe").
--
-- A template is TRANSACTIONAL (an order confirmation, a password reset) or
-- SUBSCRIPTION (a newsletter, a back-in-stock alert); a message keeps the
-- category it was sent with. SUBSCRIPTION mail carries List-Unsubscribe.
ALTER TABLE templates ADD COLUMN category text NOT NULL DEFAULT 'TRANSACTIONAL'
    CHECK (category IN ('TRANSACTIONAL', 'SUBSCRIPTION'));
ALTER TABLE messages ADD COLUMN category text NOT NULL DEFAULT 'TRANSACTIONAL'
    CHECK (category IN ('TRANSACTIONAL', 'SUBSCRIPTION'));

-- A suppression now says why (reason) and what it stops (scope): ALL mail,
-- or SUBSCRIPTION mail only (an unsubscribe: order confirmations still go
-- out). The text wave 1 kept as the reason, the server's reply to a
-- bounce, is the detail now; every existing row is such a bounce.
ALTER TABLE suppressions RENAME COLUMN reason TO detail;
ALTER TABLE suppressions
    ADD COLUMN reason text NOT NULL DEFAULT 'BOUNCE'
        CHECK (reason IN ('BOUNCE', 'COMPLAINT', 'UNSUBSCRIBED', 'MANUAL')),
    ADD COLUMN scope text NOT NULL DEFAULT 'ALL'
        CHECK (scope IN ('ALL', 'SUBSCRIPTION'));
-- New rows name both; the defaults were for the rows above.
ALTER TABLE suppressions ALTER COLUMN reason DROP DEFAULT, ALTER COLUMN scope DROP DEFAULT;
