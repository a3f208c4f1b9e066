//go:build freebsd

package lsarpc

// FreeBSD's LOCAL_PEERCRED carries no pid.
func peerPID(fd int) int32 { return 0 }
