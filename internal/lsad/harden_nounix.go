//go:build !unix

package lsad

func harden() error           { return nil }
func dumpable() (bool, error) { return false, nil }

func openFileLimit() uint64 { return 0 }
