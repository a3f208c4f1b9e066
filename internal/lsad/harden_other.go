//go:build unix && !linux

package lsad

import "golang.org/x/sys/unix"

// harden disables core files; other platforms have no PR_SET_DUMPABLE.
func harden() error {
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
}

func dumpable() (bool, error) { return false, nil }

// openFileLimit is the process's RLIMIT_NOFILE (0 if unknown), which bounds
// the connections lsad may serve.
func openFileLimit() uint64 {
	var l unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &l) != nil {
		return 0
	}
	return uint64(l.Cur)
}
