-- NBP table A exchange rates by currency and art. 31a tax point. Published rates never
-- change, so rows never expire. rate is a decimal string (never a FLOAT or DOUBLE: no
-- binary rounding), kept as the exact text NBP published.
-- Dates (tax_point_date, effective_date) are YYYY-MM-DD text, fetched_at a timestamp.
CREATE TABLE ksefpl_nbp_rates (
    currency       VARCHAR(64) NOT NULL,
    tax_point_date VARCHAR(40) NOT NULL,
    rate           VARCHAR(64) NOT NULL,
    table_no       VARCHAR(64) NOT NULL,
    effective_date VARCHAR(40) NOT NULL,
    fetched_at     VARCHAR(40) NOT NULL,
    PRIMARY KEY (currency, tax_point_date),
    CONSTRAINT ksefpl_nbp_rates_rate_chk CHECK (rate <> '')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
