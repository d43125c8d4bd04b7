-- How many of each chunk's titles have each type and score, so that a
-- listing filtered further by type or minimum score finds its page's chunk
-- without walking the titles before it (see tally.go). Chunks written
-- before this column existed have none until the next import, which adds
-- them even when it changes no title; queries read the titles meanwhile.
ALTER TABLE catalog_order ADD COLUMN tally smallint[];
