-- name: RiverJobCounts :many
-- Jobs by kind and state, for /metrics. Reads River's own table.
SELECT kind, state::text AS state, count(*) AS count
FROM river_job
GROUP BY kind, state;
