-- Certificates a website authenticates with (usage 'authentication': a qualified seal or
-- signature, or a KSeF certificate) or signs offline QR codes with (usage 'offline'),
-- each with its private key encrypted with the deployment key (key_enc holds the
-- Magento-format ciphertext of the PKCS#8 key). A website uses at most one certificate
-- per usage at a time (in_use); an enrolled certificate waits with in_use = 0 until it
-- has authenticated once.
CREATE TABLE ksefpl_certificate (
    certificate_id INTEGER PRIMARY KEY,
    website_id     INTEGER NOT NULL REFERENCES store_website(website_id),
    usage          TEXT NOT NULL CHECK (usage IN ('authentication', 'offline')),
    serial         TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    subject        TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    not_before     TEXT NOT NULL,
    not_after      TEXT NOT NULL,
    cert_pem       TEXT NOT NULL,
    key_enc        TEXT NOT NULL,
    origin         TEXT NOT NULL,
    ksef_name      TEXT NOT NULL DEFAULT '',
    in_use         INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (website_id, usage, fingerprint)
);
CREATE INDEX ksefpl_certificate_serial ON ksefpl_certificate (serial);

-- KSeF certificate enrolments in progress: the reference KSeF gave, and the new private
-- key (encrypted) that waits for its certificate. A run that times out keeps the row;
-- the next certificate:enroll polls it again.
CREATE TABLE ksefpl_certificate_enrollment (
    reference   TEXT PRIMARY KEY,
    website_id  INTEGER NOT NULL REFERENCES store_website(website_id),
    usage       TEXT NOT NULL CHECK (usage IN ('authentication', 'offline')),
    name        TEXT NOT NULL,
    key_enc     TEXT NOT NULL,
    status      TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT '',
    serial      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Finding a website's latest audit row of a reason (e.g. the daily certificate expiry
-- warning) without scanning its log.
CREATE INDEX ksefpl_audit_log_reason ON ksefpl_audit_log (website_id, reason, audit_id);
