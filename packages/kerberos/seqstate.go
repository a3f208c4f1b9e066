// Sequence-number state of received per-message tokens (RFC 4121 Section
// 4.2.6 SND_SEQ; RFC 2743 Section 1.2.3): replay and out-of-sequence
// detection with the semantics of MIT krb5's
// src/lib/gssapi/generic/util_seqstate.c (written from its behaviour and
// its test table t_seqstate.c, which seqstate_test.go ports row by row).

package kerberos

import (
	"math"

	"github.com/opensspi/sspi/secpkg"
)

// seqResult is what the sequence state concludes about one received
// token: the GSS-API supplementary status bits of RFC 2743 Section 1.2.1.1.
type seqResult uint8

const (
	seqOK        seqResult = iota // GSS_S_COMPLETE: the expected token, or checking is off
	seqGap                        // GSS_S_GAP_TOKEN: a later token than expected; some were skipped
	seqUnseq                      // GSS_S_UNSEQ_TOKEN: an earlier token than expected, not seen before
	seqOld                        // GSS_S_OLD_TOKEN: too old to tell whether it is a replay
	seqDuplicate                  // GSS_S_DUPLICATE_TOKEN: seen before (a replay)
)

// String returns the GSS-API name.
func (r seqResult) String() string {
	switch r {
	case seqOK:
		return "GSS_S_COMPLETE"
	case seqGap:
		return "GSS_S_GAP_TOKEN"
	case seqUnseq:
		return "GSS_S_UNSEQ_TOKEN"
	case seqOld:
		return "GSS_S_OLD_TOKEN"
	case seqDuplicate:
		return "GSS_S_DUPLICATE_TOKEN"
	}
	return "seqResult(?)"
}

// Sequence results as SSPI statuses.
//
// GSS-API reports these as supplementary bits beside a successful unwrap;
// SSPI has one status. Windows' Kerberos package documents exactly one
// status for all of them: DecryptMessage (Kerberos) and VerifySignature
// return SEC_E_OUT_OF_SEQUENCE, "the message was not received in the
// correct sequence" (learn.microsoft.com, DecryptMessage (Kerberos);
// MakeSignature/VerifySignature). So:
//
//	GSS-API (util_seqstate.c)   SSPI status              buffers afterwards
//	GSS_S_COMPLETE              SEC_E_OK                 plaintext
//	GSS_S_GAP_TOKEN             SEC_E_OUT_OF_SEQUENCE    plaintext (authentic)
//	GSS_S_UNSEQ_TOKEN           SEC_E_OUT_OF_SEQUENCE    plaintext (authentic)
//	GSS_S_OLD_TOKEN             SEC_E_OUT_OF_SEQUENCE    plaintext (authentic)
//	GSS_S_DUPLICATE_TOKEN       SEC_E_OUT_OF_SEQUENCE    plaintext (authentic)
//
// The check runs only after the token's checksum verified, so an
// out-of-sequence token is authentic: as in GSS-API, the buffers hold its
// plaintext and the state records it (a gap advances the expected number,
// so the next token in order succeeds), and the caller decides. Wine's
// Kerberos package maps DUPLICATE and OLD to SEC_E_INVALID_TOKEN instead;
// we follow Windows' documentation, which names no other status, and keep
// SEC_E_INVALID_TOKEN for tokens that do not parse. The SEC_E_OUT_OF_SEQUENCE
// detail names the GSS-API result.
func (r seqResult) status() secpkg.Status {
	if r == seqOK {
		return secpkg.StatusOK
	}
	return secpkg.StatusOutOfSequence
}

// seqWindow is how many sequence numbers before the expected one the
// replay bitmap covers.
const seqWindow = 64

// seqState tracks the sequence numbers of received tokens.
type seqState struct {
	replay   bool   // GSS_C_REPLAY_FLAG (ISC_REQ_REPLAY_DETECT): report duplicates
	sequence bool   // GSS_C_SEQUENCE_FLAG (ISC_REQ_SEQUENCE_DETECT): report gaps and reordering
	mask     uint64 // 2^32-1 for 32-bit sequence numbers, 2^64-1 for RFC 4121's 64-bit ones
	// base is the first expected sequence number; the state works on
	// numbers relative to it, so that wrapping needs no special case.
	base uint64
	// next is the expected next number relative to base: one more than the
	// highest seen.
	next uint64
	// recvmap has bit k-1 set if number next-k (relative) was seen, for
	// k = 1..64; bit 0 is the highest number seen.
	recvmap uint64
}

// newSeqState returns the state for a peer whose first token carries
// initial; wide selects 64-bit sequence numbers (RFC 4121) rather than
// 32-bit ones (RFC 1964).
func newSeqState(initial uint64, replay, sequence, wide bool) seqState {
	s := seqState{replay: replay, sequence: sequence, mask: math.MaxUint32, base: initial}
	if wide {
		s.mask = math.MaxUint64
	}
	s.base &= s.mask
	return s
}

// check records seq and returns what it says about ordering. It must be
// called only for tokens whose checksum verified.
func (s *seqState) check(seq uint64) seqResult {
	if !s.replay && !s.sequence {
		return seqOK
	}
	rel := (seq - s.base) & s.mask
	if rel >= s.next {
		// The expected number or a later one: shift the bitmap by the
		// distance and mark this one as the highest seen.
		gap := rel - s.next
		if gap >= seqWindow-1 {
			s.recvmap = 1
		} else {
			s.recvmap = s.recvmap<<(gap+1) | 1
		}
		s.next = (rel + 1) & s.mask
		if gap > 0 && s.sequence {
			return seqGap
		}
		return seqOK
	}
	// An earlier number.
	back := s.next - rel
	if back > seqWindow {
		if s.sequence {
			return seqUnseq
		}
		return seqOld
	}
	bit := uint64(1) << (back - 1)
	if s.replay && s.recvmap&bit != 0 {
		return seqDuplicate
	}
	s.recvmap |= bit
	if s.sequence {
		return seqUnseq
	}
	return seqOK
}
