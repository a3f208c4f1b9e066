//go:build linux

package lsad

import (
	"golang.org/x/sys/unix"
)

// harden keeps secrets out of core dumps and other processes' reach: no
// core files, and the process is not dumpable (which also stops ptrace
// attachment and /proc/PID/mem reads by processes of the same uid).
func harden() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// dumpable reports the process's dumpable flag, for tests.
func dumpable() (bool, error) {
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	return v != 0, err
}

// openFileLimit is the process's RLIMIT_NOFILE (0 if unknown), which bounds
// the connections lsad may serve.
func openFileLimit() uint64 {
	var l unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &l) != nil {
		return 0
	}
	return l.Cur
}
