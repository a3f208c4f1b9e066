//go:build linux

package lsad

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

// readCallerFile reads a file for a package on behalf of a caller
// (engine.Config.ReadCallerFile) with the caller's rights: lsad runs as
// root, so it opens the file on a thread of its own whose filesystem uid
// and gid are the caller's, without supplementary groups (a caller whose
// access comes from one of its own is refused: fail closed), and which
// ends with the read, taking that identity with it. An lsad that is not
// root reads only for callers of its own uid.
func readCallerFile(ci secpkg.CallInfo, path string, max int64) ([]byte, error) {
	euid := os.Geteuid()
	if euid != 0 {
		if int(ci.UID) != euid {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsad: cannot open files with the rights of uid %d: pass the file's contents instead", ci.UID)
		}
		return engine.ReadRegularFile(path, max)
	}
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine.
		runtime.LockOSThread()
		if err := becomeCaller(ci); err != nil {
			ch <- result{err: secpkg.Errorf(secpkg.StatusNoCredentials, "lsad: taking the rights of uid %d: %w", ci.UID, err)}
			return
		}
		b, err := engine.ReadRegularFile(path, max)
		ch <- result{b, err}
	}()
	r := <-ch
	return r.b, r.err
}

// becomeCaller gives this thread the caller's filesystem identity: no
// supplementary groups, fsgid and fsuid the caller's (which drops root's
// filesystem capabilities, CAP_DAC_OVERRIDE among them, for a caller that
// is not root). The raw system calls change this thread only.
func becomeCaller(ci secpkg.CallInfo) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return e
	}
	if err := unix.Setfsgid(int(ci.GID)); err != nil {
		return err
	}
	if err := unix.Setfsuid(int(ci.UID)); err != nil {
		return err
	}
	// setfsuid reports no failure: ask again what took.
	if cur, _ := unix.SetfsuidRetUid(-1); cur != int(ci.UID) {
		return unix.EPERM
	}
	if cur, _ := unix.SetfsgidRetGid(-1); cur != int(ci.GID) {
		return unix.EPERM
	}
	return nil
}
