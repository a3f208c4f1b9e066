-- Version 2: decoy rows, for equal cost. A logon attempt that names no
-- account reads and writes the decoy row its name hashes to
-- (rules.DecoyBucket) in the same statements, in the same transaction, as
-- an attempt on an account reads its lockout row with its verifier and
-- groups and writes the failure: the time an attempt takes does not tell an
-- unknown account from a wrong password. A decoy row runs the lockout
-- state machine like an account's (nothing reads its lock), and its
-- verifier is random bytes the size of an NT hash that no check is ever
-- given. The same table exists in ../postgres/0002_logon_decoys.sql.

CREATE TABLE logon_decoys (
    bucket        INTEGER PRIMARY KEY,
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    first_failure INTEGER,
    locked_until  INTEGER,
    verifier      BLOB    NOT NULL
) STRICT;

-- One row per bucket (rules.DecoyBuckets).
WITH RECURSIVE b(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM b WHERE n < 63)
INSERT INTO logon_decoys (bucket, verifier) SELECT n, randomblob(16) FROM b;
