//go:build !unix

package opaque

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
