-- Sessions are online (interactive) or batch. Batch sessions carry their invoices in
-- files named after the jobs.
ALTER TABLE ksefpl_sessions ADD COLUMN `kind` VARCHAR(64) NOT NULL DEFAULT 'online';
