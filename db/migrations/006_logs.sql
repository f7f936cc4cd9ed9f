-- 006_logs: tables of its issue (reserved; filled in by its owner).
SELECT 1;
