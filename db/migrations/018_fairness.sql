-- 018_fairness: reserved. It held the virtual clocks of a fair delivery
-- order that was withdrawn before release (see docs/architecture.md,
-- "Fairness between tenants"); the number stays so that the migrations
-- that follow keep theirs.
SELECT 1;
