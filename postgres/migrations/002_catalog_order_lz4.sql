-- catalog_order's chunks are 8 kB arrays, each compressed as it is written:
-- pglz made writing the orders of a million titles about half the import.
-- lz4 compresses them as well in a fraction of the time. Servers built
-- without lz4 keep pglz.
DO $$
BEGIN
    ALTER TABLE catalog_order ALTER COLUMN ids SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;
