-- placeholder
SELECT 1; -- tern refuses a migration without SQL
