package opaque

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// KSFAlgorithm names a key stretching function (RFC 9807 Section 2.3).
type KSFAlgorithm uint8

// Key stretching functions, with the code that stands for each in the
// encoding of a [KSF] (doc/opaque.md).
const (
	// KSFArgon2id is Argon2id (RFC 9106) as RFC 9807 Section 7 uses it:
	// Argon2id(S = zeroes(16), p, T = Nh, m, t, v = 0x13, K = nil,
	// X = nil, y = 2) over the OPRF output.
	KSFArgon2id KSFAlgorithm = 1
	// KSFInsecureIdentity is the identity function: Stretch(msg) = msg.
	// It is what the RFC 9807 test vectors use and protects nothing
	// after a server compromise; use it for vectors and tests only.
	KSFInsecureIdentity KSFAlgorithm = 0xff
)

// String names the algorithm.
func (a KSFAlgorithm) String() string {
	switch a {
	case KSFArgon2id:
		return "Argon2id"
	case KSFInsecureIdentity:
		return "Identity"
	case 0:
		return "default"
	}
	return fmt.Sprintf("KSFAlgorithm(%d)", uint8(a))
}

// KSF is a key stretching function with its parameters: Stretch of RFC
// 9807 Section 2.3, applied by the client to the OPRF output. Both roles
// of a registration and of every later login must use the same KSF; the
// server keeps it beside the record.
//
// The zero KSF means [DefaultKSF].
type KSF struct {
	Algorithm KSFAlgorithm
	// Argon2id parameters (RFC 9106 Section 3.1); zero for the identity.
	Memory  uint32 // m, in KiB
	Time    uint32 // t, passes over the memory
	Threads uint8  // p, lanes
}

// DefaultKSF is Argon2id with m = 64 MiB, t = 3, p = 4: the second
// recommended option of RFC 9106 Section 4, for machines where the first
// one's 2 GiB per login is too much (doc/opaque.md says why it is the
// default).
func DefaultKSF() KSF { return Argon2id(64*1024, 3, 4) }

// RecommendedKSF is the KSF of RFC 9807 Section 7's recommended
// configurations and RFC 9106's first recommended option: Argon2id with
// m = 2^21 KiB (2 GiB), t = 1, p = 4.
func RecommendedKSF() KSF { return Argon2id(1<<21, 1, 4) }

// Argon2id returns the Argon2id KSF with memory m KiB, t passes and p
// lanes.
func Argon2id(m, t uint32, p uint8) KSF {
	return KSF{Algorithm: KSFArgon2id, Memory: m, Time: t, Threads: p}
}

// InsecureIdentityKSF returns the identity KSF of the RFC 9807 test
// vectors. A record made with it falls to a dictionary attack at the
// speed of the OPRF once the server is compromised: never use it outside
// tests.
func InsecureIdentityKSF() KSF { return KSF{Algorithm: KSFInsecureIdentity} }

// orDefault returns k, or DefaultKSF for the zero KSF.
func (k KSF) orDefault() KSF {
	if k == (KSF{}) {
		return DefaultKSF()
	}
	return k
}

// String describes the KSF, such as "Argon2id(m=65536,t=3,p=4)".
func (k KSF) String() string {
	k = k.orDefault()
	if k.Algorithm == KSFArgon2id {
		return fmt.Sprintf("Argon2id(m=%d,t=%d,p=%d)", k.Memory, k.Time, k.Threads)
	}
	return k.Algorithm.String()
}

// Limits on Argon2id parameters anyone may ask of this implementation.
const (
	maxArgon2Memory = 1 << 22 // 4 GiB in KiB
	maxArgon2Time   = 1 << 10
)

// Validate reports whether k can run: a known algorithm, and for
// Argon2id t >= 1, p >= 1 and m >= 8p (RFC 9106 Section 3.1), with m at
// most 4 GiB and t at most 1024.
func (k KSF) Validate() error {
	k = k.orDefault()
	switch k.Algorithm {
	case KSFInsecureIdentity:
		if k.Memory != 0 || k.Time != 0 || k.Threads != 0 {
			return errors.New("opaque: identity KSF with parameters")
		}
		return nil
	case KSFArgon2id:
		switch {
		case k.Threads == 0:
			return errors.New("opaque: Argon2id with p = 0")
		case k.Time == 0:
			return errors.New("opaque: Argon2id with t = 0")
		case k.Memory < 8*uint32(k.Threads):
			return fmt.Errorf("opaque: Argon2id with m = %d KiB below 8p", k.Memory)
		case k.Memory > maxArgon2Memory:
			return fmt.Errorf("opaque: Argon2id with m = %d KiB above 4 GiB", k.Memory)
		case k.Time > maxArgon2Time:
			return fmt.Errorf("opaque: Argon2id with t = %d above %d", k.Time, maxArgon2Time)
		}
		return nil
	}
	return fmt.Errorf("opaque: unknown KSF algorithm %d", uint8(k.Algorithm))
}

// Stretch is Stretch(msg) (RFC 9807 Section 2.3): for Argon2id the
// Section 7 form, Argon2id(S = zeroes(16), p, T = Nh, m, t, v = 0x13)
// with msg as the password.
func (k KSF) Stretch(msg []byte) ([]byte, error) {
	k = k.orDefault()
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if k.Algorithm == KSFInsecureIdentity {
		return append([]byte(nil), msg...), nil
	}
	var salt [16]byte
	return argon2.IDKey(msg, salt[:], k.Time, k.Memory, k.Threads, Nh), nil
}

// ksfSize is the size of an encoded KSF.
const ksfSize = 10

// appendKSF encodes k (doc/opaque.md, "KSF parameters"): the algorithm
// code, then m and t as 32-bit big-endian values and p as one byte; all
// three zero for the identity.
func appendKSF(b []byte, k KSF) []byte {
	k = k.orDefault()
	b = append(b, byte(k.Algorithm))
	b = binary.BigEndian.AppendUint32(b, k.Memory)
	b = binary.BigEndian.AppendUint32(b, k.Time)
	return append(b, k.Threads)
}

// parseKSF decodes and validates an encoded KSF.
func parseKSF(b []byte) (KSF, error) {
	if len(b) != ksfSize {
		return KSF{}, fmt.Errorf("opaque: KSF parameters of %d bytes, want %d", len(b), ksfSize)
	}
	k := KSF{
		Algorithm: KSFAlgorithm(b[0]),
		Memory:    binary.BigEndian.Uint32(b[1:5]),
		Time:      binary.BigEndian.Uint32(b[5:9]),
		Threads:   b[9],
	}
	if k.Algorithm == 0 {
		return KSF{}, errors.New("opaque: KSF parameters name no algorithm")
	}
	if err := k.Validate(); err != nil {
		return KSF{}, err
	}
	return k, nil
}

// ParseKSF reads a KSF as String writes it ("Argon2id(m=65536,t=3,p=4)",
// without regard to case or spaces), or by name: "default"
// (DefaultKSF), "recommended" (RecommendedKSF) or "identity"
// (InsecureIdentityKSF, which policies refuse unless told otherwise). The
// KSF returned is valid.
func ParseKSF(s string) (KSF, error) {
	t := strings.ToLower(strings.Join(strings.Fields(s), ""))
	var k KSF
	switch t {
	case "default":
		k = DefaultKSF()
	case "recommended":
		k = RecommendedKSF()
	case "identity":
		k = InsecureIdentityKSF()
	default:
		var m, tt uint32
		var p uint8
		var rest string
		n, err := fmt.Sscanf(t, "argon2id(m=%d,t=%d,p=%d%s", &m, &tt, &p, &rest)
		if n != 4 || err != nil || rest != ")" {
			return KSF{}, fmt.Errorf("opaque: KSF %q: want Argon2id(m=KiB,t=passes,p=lanes), default, recommended or identity", s)
		}
		k = Argon2id(m, tt, p)
	}
	if err := k.Validate(); err != nil {
		return KSF{}, err
	}
	return k, nil
}
