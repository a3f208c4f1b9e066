//go:build !unix

package engine

import "os"

// lockFile does nothing where flock is missing: only the LSA's own
// process lock guards the replay cache file, so no two LSAs may share
// one there.
func lockFile(f *os.File) error { return nil }

func unlockFile(f *os.File) error { return nil }

func tryLockFile(f *os.File) error { return nil }
