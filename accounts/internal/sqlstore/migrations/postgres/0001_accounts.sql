-- Version 1: the account store (SAM). Times are microseconds since the
-- Unix epoch (UTC); NULL is "never". The same tables and columns exist in
-- ../sqlite/0001_accounts.sql; only the type names differ.

-- accounts: one row per account. domain and name are kept as given;
-- domain_key and name_key are their case-folded forms (computed by the
-- program, so that every backend folds alike) and carry the uniqueness.
CREATE TABLE accounts (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    domain_key TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    disabled   BOOLEAN NOT NULL DEFAULT FALSE,
    created    BIGINT  NOT NULL,
    updated    BIGINT  NOT NULL,
    UNIQUE (domain_key, name_key)
);

-- groups: the groups an account belongs to.
CREATE TABLE groups (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- verifiers: per security package, the verifier that package made from
-- the account's password (an NT hash, an OPAQUE record, SCRAM keys). Secret.
CREATE TABLE verifiers (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    package    TEXT   NOT NULL,
    verifier   BYTEA  NOT NULL,
    updated    BIGINT NOT NULL,
    PRIMARY KEY (account_id, package)
);

-- lockout: one row per account, created with it; Logon locks it.
CREATE TABLE lockout (
    account_id    BIGINT  PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    first_failure BIGINT,
    locked_until  BIGINT
);
