package accounts

import "time"

// LockedForever is the LockedUntil of an account that stays locked until an
// administrator unlocks it (a policy whose Duration is zero). It is the
// last second of the year 9999, which every backend can store.
var LockedForever = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
