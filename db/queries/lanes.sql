-- name: DeliveryLaneTake :one
-- Takes up to @n messages from the tenant's fast lane and returns how many
-- it took (delivery_lane_take, 022_delivery_lanes).
SELECT delivery_lane_take(@tenant_id::uuid, @n::int, @rate::float8, @burst::float8)::int AS taken;
