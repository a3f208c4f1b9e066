-- Version 3: package secrets and registration codes. The same tables and
-- columns exist in ../postgres/0003_package_secrets.sql; only the type
-- names differ.

-- package_secrets: the long-term secrets a security package keeps beyond
-- verifiers (the OPAQUE server setup), by package and name. Created once,
-- never updated by the program. Secret.
CREATE TABLE package_secrets (
    package TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    secret  BLOB    NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (package, name)
) STRICT;

-- registration_codes: one-time codes that let their holder register an
-- account with a package. selector finds a code; hash is the SHA-256 of
-- its secret part (the code itself is never stored). Deleting the
-- account deletes its codes.
CREATE TABLE registration_codes (
    selector   BLOB    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    package    TEXT    NOT NULL,
    hash       BLOB    NOT NULL,
    expires    INTEGER NOT NULL,
    created    INTEGER NOT NULL
) STRICT;

CREATE INDEX registration_codes_account ON registration_codes (account_id, package);
