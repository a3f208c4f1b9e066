package kerberos

import (
	"fmt"
	"math"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// The test table of MIT krb5's src/lib/gssapi/generic/t_seqstate.c (krb5
// 473b51b6), row by row, with each expected GSS-API result and the SSPI
// status it maps to.

type seqWidth int

const (
	narrow seqWidth = iota
	wide
	both
)

type seqStep struct {
	seq  uint64
	want seqResult
}

type seqCase struct {
	name             string
	initial          uint64
	replay, sequence bool
	width            seqWidth
	steps            []seqStep
}

const (
	u32 = math.MaxUint32
	u64 = math.MaxUint64
)

var seqCases = []seqCase{
	{"no replay or sequence checking", 10, false, false, both,
		[]seqStep{{11, seqOK}, {10, seqOK}, {10, seqOK}, {9, seqOK}}},
	{"basic sequence checking, no wraparound", 100, false, true, both,
		[]seqStep{{100, seqOK}, {102, seqGap}, {103, seqOK}, {101, seqUnseq}}},
	{"initial gap", 200, false, true, both,
		[]seqStep{{201, seqGap}, {202, seqOK}, {200, seqUnseq}, {203, seqOK}}},
	{"32-bit wraparound", u32 - 1, false, true, narrow,
		[]seqStep{{u32 - 1, seqOK}, {u32, seqOK}, {0, seqOK}, {1, seqOK}}},
	{"32-bit wraparound with gap", u32 - 1, false, true, narrow,
		[]seqStep{{u32 - 1, seqOK}, {0, seqGap}, {u32, seqUnseq}, {1, seqOK}}},
	{"64-bit wraparound", u64 - 1, false, true, wide,
		[]seqStep{{u64 - 1, seqOK}, {u64, seqOK}, {0, seqOK}, {1, seqOK}}},
	{"64-bit wraparound with gap", u64 - 1, false, true, wide,
		[]seqStep{{u64 - 1, seqOK}, {0, seqGap}, {u64, seqUnseq}, {1, seqOK}}},
	{"64-bit beyond the 32-bit range", u32 - 1, false, true, wide,
		[]seqStep{{u32 - 1, seqOK}, {u32, seqOK}, {u32 + 1, seqOK}, {u32 + 2, seqOK}}},
	{"64-bit beyond the 32-bit range with gap", u32 - 1, false, true, wide,
		[]seqStep{{u32 - 1, seqOK}, {u32 + 1, seqGap}, {u32, seqUnseq}, {u32 + 2, seqOK}}},
	{"64-bit: 0 after 2^32-1 is a gap", u32 - 1, false, true, wide,
		[]seqStep{{u32 - 1, seqOK}, {u32, seqOK}, {0, seqGap}}},
	{"replay without the replay flag", 250, false, true, both,
		[]seqStep{{250, seqOK}, {250, seqUnseq}}},
	{"replay and sequence detection", 0, true, true, both,
		[]seqStep{{5, seqGap}, {3, seqUnseq}, {8, seqGap}, {3, seqDuplicate}, {0, seqUnseq},
			{0, seqDuplicate}, {5, seqDuplicate}, {3, seqDuplicate}, {8, seqDuplicate}, {9, seqOK}}},
	{"replay detection without sequence", 0, true, false, both,
		[]seqStep{{5, seqOK}, {3, seqOK}, {8, seqOK}, {3, seqDuplicate}, {0, seqOK},
			{0, seqDuplicate}, {5, seqDuplicate}, {3, seqDuplicate}, {8, seqDuplicate}, {9, seqOK}}},
	{"replay and sequence with 64-bit wraparound", u64 - 5, true, true, wide,
		[]seqStep{{u64, seqGap}, {u64 - 2, seqUnseq}, {0, seqOK}, {u64, seqDuplicate}, {u64, seqDuplicate},
			{2, seqGap}, {0, seqDuplicate}, {1, seqUnseq}, {u64 - 2, seqDuplicate}, {u64 - 6, seqGap}}},
	{"replay and sequence with 32-bit wraparound", u32 - 5, true, true, narrow,
		[]seqStep{{u32, seqGap}, {u32 - 2, seqUnseq}, {0, seqOK}, {u32, seqDuplicate}, {u32, seqDuplicate},
			{2, seqGap}, {0, seqDuplicate}, {1, seqUnseq}, {u32 - 2, seqDuplicate}, {u32 - 6, seqGap}}},
	{"old token edge cases (64-number window)", 1000, true, false, both,
		[]seqStep{{1163, seqOK}, {1100, seqOK}, {1100, seqDuplicate}, {1163, seqDuplicate}, {1099, seqOld},
			{1100, seqDuplicate}, {1150, seqOK}, {1150, seqDuplicate}, {1000, seqOld}, {999, seqOK}}},
}

// wantStatus is the SSPI status each GSS-API result maps to (the table in
// seqstate.go).
var wantStatus = map[seqResult]secpkg.Status{
	seqOK:        secpkg.StatusOK,
	seqGap:       secpkg.StatusOutOfSequence,
	seqUnseq:     secpkg.StatusOutOfSequence,
	seqOld:       secpkg.StatusOutOfSequence,
	seqDuplicate: secpkg.StatusOutOfSequence,
}

func TestSeqStateMITTable(t *testing.T) {
	for i, c := range seqCases {
		for _, w := range []seqWidth{narrow, wide} {
			if c.width != both && c.width != w {
				continue
			}
			t.Run(fmt.Sprintf("%d/%s/wide=%v", i, c.name, w == wide), func(t *testing.T) {
				s := newSeqState(c.initial, c.replay, c.sequence, w == wide)
				for j, step := range c.steps {
					got := s.check(step.seq)
					if got != step.want {
						t.Fatalf("step %d (seq %d): %v, want %v", j, step.seq, got, step.want)
					}
					if st := got.status(); st != wantStatus[step.want] {
						t.Fatalf("step %d: status %v, want %v", j, st, wantStatus[step.want])
					}
				}
			})
		}
	}
}

func TestSeqStateLongGapForgetsOlder(t *testing.T) {
	s := newSeqState(0, true, false, true)
	s.check(0)
	s.check(1000) // a jump beyond the window drops the bitmap
	if r := s.check(1000); r != seqDuplicate {
		t.Fatalf("repeat of the newest: %v", r)
	}
	if r := s.check(999); r != seqOK {
		t.Fatalf("unseen predecessor: %v", r)
	}
	if r := s.check(0); r != seqOld {
		t.Fatalf("far behind: %v", r)
	}
	for _, r := range []seqResult{seqOK, seqGap, seqUnseq, seqOld, seqDuplicate, 9} {
		if r.String() == "" {
			t.Fatal("empty name")
		}
	}
}
