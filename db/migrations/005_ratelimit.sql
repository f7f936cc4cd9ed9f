-- 005_ratelimit: tables of its issue (reserved; filled in by its owner).
SELECT 1;
