package lsa

import "testing"

// TestMarshalMappedOneAllocation: the mapped envelope is built in one
// allocation (its capacity once held everything but the checksum, which
// then copied the whole envelope).
func TestMarshalMappedOneAllocation(t *testing.T) {
	p := &Packed{PackageID: 10, Package: "NTLM", Data: make([]byte, 600)}
	if n := testing.AllocsPerRun(100, func() { p.MarshalMapped() }); n != 1 {
		t.Fatalf("MarshalMapped made %v allocations, want 1", n)
	}
}
