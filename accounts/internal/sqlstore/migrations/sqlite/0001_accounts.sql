-- Version 1: the account store (SAM). Times are microseconds since the
-- Unix epoch (UTC); NULL is "never". The same tables and columns exist in
-- ../postgres/0001_accounts.sql; only the type names differ.

-- accounts: one row per account. domain and name are kept as given;
-- domain_key and name_key are their case-folded forms (computed by the
-- program, so that every backend folds alike) and carry the uniqueness.
CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    domain     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    domain_key TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL,
    UNIQUE (domain_key, name_key)
) STRICT;

-- groups: the groups an account belongs to.
CREATE TABLE groups (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    PRIMARY KEY (account_id, name)
) STRICT;

-- verifiers: per security package, the verifier that package made from
-- the account's password (an NT hash, an OPAQUE record, SCRAM keys). Secret.
CREATE TABLE verifiers (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    package    TEXT    NOT NULL,
    verifier   BLOB    NOT NULL,
    updated    INTEGER NOT NULL,
    PRIMARY KEY (account_id, package)
) STRICT;

-- lockout: one row per account, created with it; Logon locks it.
CREATE TABLE lockout (
    account_id    INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    first_failure INTEGER,
    locked_until  INTEGER
) STRICT;
