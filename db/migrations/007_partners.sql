-- 007_partners: tables of its issue (reserved; filled in by its owner).
SELECT 1;
