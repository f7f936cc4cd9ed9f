-- The part of River's schema that Outbox's own queries read, declared for
-- sqlc only. River's migrations (rivermigrate) create the real tables.
CREATE TYPE river_job_state AS ENUM (
    'available', 'cancelled', 'completed', 'discarded', 'pending', 'retryable', 'running', 'scheduled'
);

CREATE TABLE river_job (
    id bigserial PRIMARY KEY,
    state river_job_state NOT NULL,
    kind text NOT NULL,
    attempt smallint NOT NULL DEFAULT 0,
    max_attempts smallint NOT NULL,
    args jsonb NOT NULL DEFAULT '{}',
    queue text NOT NULL DEFAULT 'default',
    priority smallint NOT NULL DEFAULT 1,
    scheduled_at timestamptz NOT NULL DEFAULT now(),
    attempted_at timestamptz,
    attempted_by text[],
    errors jsonb[]
);
