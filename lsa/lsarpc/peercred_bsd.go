//go:build darwin || freebsd

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
// socket (LOCAL_PEERCRED; the pid from LOCAL_PEERPID where there is one).
func peerCredentials(c net.Conn) (secpkg.CallInfo, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return secpkg.CallInfo{}, errors.New("lsarpc: not a Unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return secpkg.CallInfo{}, err
	}
	var ci secpkg.CallInfo
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		var x *unix.Xucred
		x, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if cerr != nil {
			return
		}
		ci.UID = x.Uid
		if x.Ngroups > 0 {
			ci.GID = x.Groups[0]
		}
		ci.PID = peerPID(int(fd))
	}); err != nil {
		return secpkg.CallInfo{}, err
	}
	return ci, cerr
}
