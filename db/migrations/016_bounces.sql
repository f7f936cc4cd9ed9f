-- 016_bounces: what comes back after SENT. Platform-relayed mail carries a
-- per-message envelope sender under the bounce domain; the inbound SMTP
-- listener matches the delivery status notifications and complaint reports
-- mailed there to the message (internal/bounce).
--
-- A message may now end BOUNCED (a hard bounce after SENT) or COMPLAINED
-- (the recipient reported it as spam). The constraint is added NOT VALID
-- and validated apart, so that the table is not locked while every row is
-- checked.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('QUEUED', 'SENDING', 'RETRYING', 'SENT', 'FAILED', 'CANCELLED', 'SUPPRESSED', 'BOUNCED', 'COMPLAINED'))
    NOT VALID;
ALTER TABLE messages VALIDATE CONSTRAINT messages_status_check;

-- Reports the listener took but could not apply: not a report, a forged or
-- unknown token, a recipient the message did not go to. Kept for an
-- operator to look at; the newest few thousand only (bounce.keepReports),
-- each at most the listener's size limit.
CREATE TABLE inbound_reports (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    remote_addr text NOT NULL DEFAULT '',
    mail_from   text NOT NULL DEFAULT '',
    rcpt_to     text[] NOT NULL DEFAULT '{}',
    -- reason is why it was not applied, in words.
    reason      text NOT NULL,
    -- message_id and tenant_id name the message when the token was valid.
    message_id  uuid,
    tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
    raw         bytea NOT NULL
);
