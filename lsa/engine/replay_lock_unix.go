//go:build unix

package engine

import (
	"os"
	"syscall"
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
