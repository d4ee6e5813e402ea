-- Claims: several submit processes (on one host or many sharing a MySQL database) send
-- different jobs of one website in parallel. A PENDING job is claimed by one process
-- (claimed_by, its lease holder name "node|pid|nonce") until claimed_until (Unix
-- milliseconds of the database's clock); only the claimer freezes and sends it. A
-- session is owned by the process that opened it, or that follows it up (owner,
-- owner_until): only the owner closes it, settles its jobs or recovers what was left
-- mid-send in it. A claim that is not renewed expires; a process that ends releases its
-- claims, and the claims of a process killed on the same node are released by the next
-- run there.
ALTER TABLE ksefpl_queue ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE ksefpl_queue ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ksefpl_queue_claimed_by ON ksefpl_queue (claimed_by) WHERE claimed_by <> '';
ALTER TABLE ksefpl_sessions ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE ksefpl_sessions ADD COLUMN owner_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ksefpl_sessions_owner ON ksefpl_sessions (owner) WHERE owner <> '';
