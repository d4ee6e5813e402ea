-- NBP table A exchange rates by currency and art. 31a tax point. Published rates never
-- change, so rows never expire. rate is a decimal string (never REAL: no binary rounding);
-- TEXT affinity stores even a numeric literal as text.
CREATE TABLE ksefpl_nbp_rates (
    currency       TEXT NOT NULL,
    tax_point_date TEXT NOT NULL,
    rate           TEXT NOT NULL CHECK (rate <> ''),
    table_no       TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    fetched_at     TEXT NOT NULL,
    PRIMARY KEY (currency, tax_point_date)
);
