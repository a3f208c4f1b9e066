//go:build race

package sqlite

// raceEnabled says the tests run under the race detector, where a helper
// process takes ten times as long to start: the crash test then kills
// fewer.
const raceEnabled = true
