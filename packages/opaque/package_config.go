package opaque

import (
	"errors"
	"fmt"
)

// PackageConfig configures the OPAQUE security package ([New]). The zero
// value is safe: Argon2id with DefaultKSF for new records, at most two
// stretches at once per LSA and one per caller uid, servers asking for
// at most 256 MiB per stretch, the LSA's secret store if it offers one,
// and registration only by the protocol (never from a password inside
// the LSA).
type PackageConfig struct {
	// KSF is what the acceptor tells registering clients to use for new
	// records (the zero KSF is DefaultKSF). Each record keeps the KSF it
	// was made with, so changing this affects new registrations only.
	KSF KSF
	// MaxKSFMemory is the largest Argon2id memory, in KiB, the
	// initiator's LSA spends on one stretch for a server; a server asking
	// for more is refused. 0 means 256 MiB. RecommendedKSF (2 GiB) needs
	// 1<<21 here.
	MaxKSFMemory uint32
	// MaxConcurrentKSF bounds how many stretches the LSA runs at once;
	// others wait (as long as their caller's context allows). The LSA's
	// stretching memory is bounded by MaxConcurrentKSF times the memory
	// of the largest KSF in use. 0 means 2.
	MaxConcurrentKSF int
	// MaxConcurrentKSFPerCaller bounds how many of those one caller (a
	// local uid, secpkg.CallInfo) runs at once, so that a user who
	// starts many logins at once queues behind itself and leaves the
	// other slots to other users. Each waiting login holds a context
	// handle, counted against the caller's handle quota of the LSA. The
	// LSA's own process (an embedded LSA's application) is not bounded
	// by it. 0 means 1; it is capped at MaxConcurrentKSF.
	MaxConcurrentKSFPerCaller int
	// Secrets is where the acceptor's long-term secret (the server setup:
	// OPRF seed and AKE key pair) lives; it is created on first use. Nil
	// means the LSA's own store, if its support functions implement
	// [SecretStore]; without one the package can initiate but not accept.
	Secrets SecretStore

	// InsecureAllowIdentityKSF lets the acceptor make, and the initiator
	// use, records with the identity KSF (InsecureIdentityKSF). Such a
	// record falls to a fast dictionary attack if the account store and
	// the server setup leak. For tests only.
	InsecureAllowIdentityKSF bool
	// InsecureRegisterInLSA lets the LSA make a record from a password it
	// is given (secpkg.VerifierMaker, as when an administrator sets a
	// password through the LSA). The LSA then sees the password, which
	// OPAQUE exists to avoid: registration belongs in the client
	// ([NewRegistration]) with the LSA answering
	// (CreateRegistrationResponse, FinishRegistration). For tests and
	// one-off migrations only.
	InsecureRegisterInLSA bool
}

// Defaults of PackageConfig.
const (
	DefaultMaxKSFMemory     = 256 * 1024 // KiB
	DefaultMaxConcurrentKSF = 2
	// DefaultMaxConcurrentKSFPerCaller is the default of
	// PackageConfig.MaxConcurrentKSFPerCaller.
	DefaultMaxConcurrentKSFPerCaller = 1
)

func (c *PackageConfig) maxKSFMemory() uint32 {
	if c.MaxKSFMemory == 0 {
		return DefaultMaxKSFMemory
	}
	return c.MaxKSFMemory
}

func (c *PackageConfig) maxConcurrentKSF() int {
	if c.MaxConcurrentKSF <= 0 {
		return DefaultMaxConcurrentKSF
	}
	return c.MaxConcurrentKSF
}

func (c *PackageConfig) maxConcurrentKSFPerCaller() int {
	n := c.MaxConcurrentKSFPerCaller
	if n <= 0 {
		n = DefaultMaxConcurrentKSFPerCaller
	}
	return min(n, c.maxConcurrentKSF())
}

// ksfAllowed checks a KSF against the configuration: the identity only
// when allowed, Argon2id memory within the limit.
func (c *PackageConfig) ksfAllowed(k KSF) error {
	if err := k.Validate(); err != nil {
		return err
	}
	k = k.orDefault()
	switch {
	case k.Algorithm == KSFInsecureIdentity && !c.InsecureAllowIdentityKSF:
		return errIdentityKSF
	case k.Algorithm == KSFArgon2id && k.Memory > c.maxKSFMemory():
		return fmt.Errorf("opaque: Argon2id with m = %d KiB above this LSA's limit of %d KiB (PackageConfig.MaxKSFMemory)", k.Memory, c.maxKSFMemory())
	}
	return nil
}

var errIdentityKSF = errors.New("opaque: the identity KSF is refused (PackageConfig.InsecureAllowIdentityKSF)")
