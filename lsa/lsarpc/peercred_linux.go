//go:build linux

package lsarpc

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/opensspi/sspi/secpkg"
)

var errTooManyFiles = syscall.EMFILE

// peerCredentials asks the kernel who is on the other end of a Unix
// socket (SO_PEERCRED): the uid, gid and pid at connect time.
func peerCredentials(c net.Conn) (secpkg.CallInfo, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return secpkg.CallInfo{}, errors.New("lsarpc: not a Unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return secpkg.CallInfo{}, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return secpkg.CallInfo{}, err
	}
	if cerr != nil {
		return secpkg.CallInfo{}, cerr
	}
	return secpkg.CallInfo{UID: cred.Uid, GID: cred.Gid, PID: cred.Pid}, nil
}
