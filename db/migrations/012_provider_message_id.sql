-- 012_provider_message_id: the id a mail provider's API gave a message
-- (SendGrid's X-Message-Id, Postmark's MessageID, Mailgun's and Resend's
-- id, SES's MessageId), kept with the attempt that got it, so a tenant can
-- look the message up in the provider's own logs. '' when the transport
-- reports none (SMTP, the generic HTTP API, a failed attempt).
ALTER TABLE message_attempts ADD COLUMN provider_message_id text NOT NULL DEFAULT '';
