-- 023_lower_addrs: outbox_lower_addrs (006) lower-cased a list of addresses
-- one element at a time, through unnest and array_agg. Every message
-- inserted or updated (non-HOT) evaluates it for messages_recipients_idx,
-- and the set-returning form costs PostgreSQL a measurable share of a
-- bulk send's CPU (docs/benchmarks.md). Lower-casing the array's text form
-- and reading it back gives the same elements: quoting and escapes are
-- unchanged by lower(), a NULL element stays the unquoted NULL (read back
-- in any case) and a string "NULL" stays quoted. Only the bounds of an
-- array not starting at 1 are kept where array_agg renumbered them, and
-- neither the index (its keys are the elements) nor @> looks at bounds;
-- so the index built with the old body stays valid and is not rebuilt.
CREATE OR REPLACE FUNCTION outbox_lower_addrs(addrs text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(addrs::text)::text[] $$;
