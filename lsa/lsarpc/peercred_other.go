//go:build !linux && !darwin && !freebsd

package lsarpc

import (
	"errors"
	"net"

	"github.com/opensspi/sspi/secpkg"
)

var errTooManyFiles = errors.New("lsarpc: too many open files")

// peerCredentials is not available here: the server refuses every
// connection rather than trust what a client claims.
func peerCredentials(c net.Conn) (secpkg.CallInfo, error) {
	return secpkg.CallInfo{}, errors.New("lsarpc: peer credentials are not supported on this platform")
}
