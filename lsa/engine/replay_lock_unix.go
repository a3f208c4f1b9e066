//go:build unix

package engine

import (
	"os"
	"syscall"
	"time"
)

// lockFile takes an exclusive advisory lock on f (flock), waiting for
// other processes that hold it.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// tryLockFile takes the exclusive lock if it is free, waiting a moment
// for LSAs that share the file (they hold it for one operation at a time)
// but not for one that holds it for good.
func tryLockFile(f *os.File) error {
	var err error
	for range 200 {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
	return err
}
