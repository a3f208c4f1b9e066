//go:build !linux

package lsad

import "github.com/opensspi/sspi/secpkg"

// readCallerFile is nil off Linux: the engine then reads files only for
// callers of lsad's own uid, and the others pass contents.
var readCallerFile func(ci secpkg.CallInfo, path string, max int64) ([]byte, error)
