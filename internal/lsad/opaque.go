//go:build !sspi_omit_opaque

package lsad

import (
	"fmt"

	"github.com/opensspi/sspi/packages/opaque"
	"github.com/opensspi/sspi/secpkg"
)

// opaquePackage is the OPAQUE package as [opaque] configures it, or nil
// when the section is empty (the package's defaults, as registered). Its
// server setup lives in the LSA's secret store, the account store.
func (c *OPAQUEConfig) opaquePackage() (secpkg.Package, error) {
	if *c == (OPAQUEConfig{}) {
		return nil, nil
	}
	if c.MaxConcurrentKSF < 0 {
		return nil, fmt.Errorf("lsad: config: [opaque] max_concurrent_ksf must not be negative")
	}
	if c.MaxConcurrentKSFPerCaller < 0 {
		return nil, fmt.Errorf("lsad: config: [opaque] max_concurrent_ksf_per_caller must not be negative")
	}
	cfg := &opaque.PackageConfig{MaxKSFMemory: c.MaxKSFMemoryKiB, MaxConcurrentKSF: c.MaxConcurrentKSF, MaxConcurrentKSFPerCaller: c.MaxConcurrentKSFPerCaller}
	if c.KSF != "" {
		k, err := opaque.ParseKSF(c.KSF)
		if err != nil {
			return nil, fmt.Errorf("lsad: config: [opaque] ksf: %w", err)
		}
		if k.Algorithm != opaque.KSFArgon2id {
			return nil, fmt.Errorf("lsad: config: [opaque] ksf = %q: lsad registers with Argon2id only", c.KSF)
		}
		cfg.KSF = k
	}
	if k := cfg.KSF; k != (opaque.KSF{}) && c.MaxKSFMemoryKiB != 0 && k.Memory > c.MaxKSFMemoryKiB {
		return nil, fmt.Errorf("lsad: config: [opaque] ksf asks for %d KiB, above max_ksf_memory_kib = %d", k.Memory, c.MaxKSFMemoryKiB)
	}
	return opaque.New(cfg), nil
}
