//go:build race

package lsad_test

// raceEnabled says the tests run under the race detector, whose shadow
// memory multiplies a process's resident memory.
const raceEnabled = true
