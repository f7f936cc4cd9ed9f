-- Notifications in SENDING, for the sweep that moves those whose worker
-- stopped back to RETRYING (MessageStrandedList). Few rows at any time:
-- only the messages being sent.
CREATE INDEX messages_sending_job_idx ON messages (job_id) WHERE status = 'SENDING';
