-- Who wrote it: the subject of the staff token that posted each payment and registered each
-- patient (NULL for rows from before, the seed, or a service running with authentication off).
ALTER TABLE payments ADD COLUMN IF NOT EXISTS posted_by VARCHAR(128);
ALTER TABLE patients ADD COLUMN IF NOT EXISTS registered_by VARCHAR(128);
