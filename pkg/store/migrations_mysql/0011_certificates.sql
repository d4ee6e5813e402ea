-- Certificates a website authenticates with (usage 'authentication': a qualified seal or
-- signature, or a KSeF certificate) or signs offline QR codes with (usage 'offline'),
-- each with its private key encrypted with the deployment key (key_enc holds the
-- Magento-format ciphertext of the PKCS#8 key). A website uses at most one certificate
-- per usage at a time (in_use). An enrolled certificate waits with in_use = 0 until it
-- has authenticated once.
-- usage is a reserved word in MySQL and MariaDB: always write it `usage`.
-- subject and issuer are distinguished names (free text), ksef_name the name the
-- certificate has in KSeF.
CREATE TABLE ksefpl_certificate (
    certificate_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    website_id     BIGINT NOT NULL,
    `usage`        VARCHAR(64) NOT NULL,
    `serial`       VARCHAR(255) NOT NULL,
    fingerprint    VARCHAR(255) NOT NULL,
    `subject`      MEDIUMTEXT NOT NULL,
    `issuer`       MEDIUMTEXT NOT NULL,
    not_before     VARCHAR(40) NOT NULL,
    not_after      VARCHAR(40) NOT NULL,
    cert_pem       MEDIUMTEXT NOT NULL,
    key_enc        MEDIUMTEXT NOT NULL,
    origin         VARCHAR(64) NOT NULL,
    ksef_name      MEDIUMTEXT NOT NULL DEFAULT (''),
    in_use         TINYINT NOT NULL DEFAULT 0,
    created_at     VARCHAR(40) NOT NULL,
    updated_at     VARCHAR(40) NOT NULL,
    UNIQUE KEY ksefpl_certificate_website_usage_fingerprint (website_id, `usage`, fingerprint),
    KEY ksefpl_certificate_serial (`serial`),
    CONSTRAINT ksefpl_certificate_usage_chk CHECK (`usage` IN ('authentication', 'offline')),
    CONSTRAINT ksefpl_certificate_website_id_fk FOREIGN KEY (website_id) REFERENCES store_website (website_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- KSeF certificate enrolments in progress: the reference KSeF gave, and the new private
-- key (encrypted) that waits for its certificate. A run that times out keeps the row,
-- the next certificate:enroll polls it again.
CREATE TABLE ksefpl_certificate_enrollment (
    reference   VARCHAR(255) NOT NULL PRIMARY KEY,
    website_id  BIGINT NOT NULL,
    `usage`     VARCHAR(64) NOT NULL,
    `name`      MEDIUMTEXT NOT NULL,
    key_enc     MEDIUMTEXT NOT NULL,
    `status`    VARCHAR(64) NOT NULL,
    message     MEDIUMTEXT NOT NULL DEFAULT (''),
    `serial`    VARCHAR(255) NOT NULL DEFAULT '',
    created_at  VARCHAR(40) NOT NULL,
    updated_at  VARCHAR(40) NOT NULL,
    CONSTRAINT ksefpl_certificate_enrollment_usage_chk CHECK (`usage` IN ('authentication', 'offline')),
    CONSTRAINT ksefpl_certificate_enrollment_website_id_fk FOREIGN KEY (website_id) REFERENCES store_website (website_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Finding a website's latest audit row of a reason (e.g. the daily certificate expiry
-- warning) without scanning its log.
CREATE INDEX ksefpl_audit_log_reason ON ksefpl_audit_log (website_id, reason, audit_id);
