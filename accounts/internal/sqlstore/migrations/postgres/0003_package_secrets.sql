-- Version 3: package secrets and registration codes. The same tables and
-- columns exist in ../sqlite/0003_package_secrets.sql; only the type
-- names differ.

-- package_secrets: the long-term secrets a security package keeps beyond
-- verifiers (the OPAQUE server setup), by package and name. Created once,
-- never updated by the program; every host sharing the database shares
-- them. Secret.
CREATE TABLE package_secrets (
    package TEXT   NOT NULL,
    name    TEXT   NOT NULL,
    secret  BYTEA  NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (package, name)
);

-- registration_codes: one-time codes that let their holder register an
-- account with a package. selector finds a code; hash is the SHA-256 of
-- its secret part (the code itself is never stored). Deleting the
-- account deletes its codes.
CREATE TABLE registration_codes (
    selector   BYTEA  PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    package    TEXT   NOT NULL,
    hash       BYTEA  NOT NULL,
    expires    BIGINT NOT NULL,
    created    BIGINT NOT NULL
);

CREATE INDEX registration_codes_account ON registration_codes (account_id, package);
