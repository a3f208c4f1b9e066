-- Version 2: decoy rows, for equal cost. A logon attempt that names no
-- account reads and writes the decoy row its name hashes to
-- (rules.DecoyBucket) in the same statements, in the same transaction, as
-- an attempt on an account reads its lockout row with its verifier and
-- groups and writes the failure: the time an attempt takes does not tell an
-- unknown account from a wrong password. A decoy row runs the lockout
-- state machine like an account's (nothing reads its lock), and its
-- verifier is random bytes the size of an NT hash that no check is ever
-- given. The same table exists in ../sqlite/0002_logon_decoys.sql.

CREATE TABLE logon_decoys (
    bucket        INTEGER PRIMARY KEY,
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    first_failure BIGINT,
    locked_until  BIGINT,
    verifier      BYTEA   NOT NULL
);

-- One row per bucket (rules.DecoyBuckets).
INSERT INTO logon_decoys (bucket, verifier)
SELECT n, decode(md5(random()::text || n::text), 'hex') FROM generate_series(0, 63) AS n;
