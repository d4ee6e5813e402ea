-- Sessions are online (interactive) or batch; batch sessions carry their invoices in
-- files named after the jobs.
ALTER TABLE ksefpl_sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'online';
