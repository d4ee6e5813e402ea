-- Claims: several submit processes (on one host or many sharing this database) send
-- different jobs of one website in parallel. A PENDING job is claimed by one process
-- (claimed_by, its lease holder name "node|pid|nonce") until claimed_until (Unix
-- milliseconds of the database server's clock); only the claimer freezes and sends it.
-- A session is owned by the process that opened it, or that follows it up (owner,
-- owner_until): only the owner closes it, settles its jobs or recovers what was left
-- mid-send in it. A claim that is not renewed expires; a process that ends releases its
-- claims, and the claims of a process killed on the same node are released by the next
-- run there. Claiming reads with SELECT ... FOR UPDATE SKIP LOCKED.
ALTER TABLE ksefpl_queue
    ADD COLUMN claimed_by VARCHAR(255) NOT NULL DEFAULT '',
    ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0,
    ADD INDEX ksefpl_queue_claimed_by (claimed_by);
ALTER TABLE ksefpl_sessions
    ADD COLUMN owner VARCHAR(255) NOT NULL DEFAULT '',
    ADD COLUMN owner_until BIGINT NOT NULL DEFAULT 0,
    ADD INDEX ksefpl_sessions_owner (owner);
