//go:build unix && !linux

package lsad

import "golang.org/x/sys/unix"

// harden disables core files; other platforms have no PR_SET_DUMPABLE.
func harden() error {
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
}

func dumpable() (bool, error) { return false, nil }
