package sspi_test

import (
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// TestConformance runs the conformance kit on every variant of the test
// package (1 to 5 tokens, the unmapped path and CompleteAuthToken), in
// both modes: the embedded engine and the daemon protocol.
func TestConformance(t *testing.T) {
	for _, mode := range secpkgtest.Modes {
		for _, pkg := range allFakes {
			t.Run(mode.Name+"/"+pkg, func(t *testing.T) {
				t.Parallel()
				secpkgtest.Run(t, secpkgtest.Config{
					Package: pkg,
					NewHarness: func(t *testing.T) secpkgtest.Harness {
						return mode.Harness(t, newEngine(t, nil))
					},
					User: testUser, Domain: testDomain, Password: []byte(testPassword),
					Target:          testTarget,
					ClientFlags:     sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect,
					WantClientFlags: sspi.ISCRetConfidentiality | sspi.ISCRetIntegrity | sspi.ISCRetSequenceDetect | sspi.ISCRetReplayDetect,
					WantServerFlags: sspi.ASCRetConfidentiality | sspi.ASCRetIntegrity | sspi.ASCRetSequenceDetect | sspi.ASCRetReplayDetect,
					Mapped:          pkg != "FakeUnmapped",
					SequenceDetect:  true,
					Exportable:      pkg != "FakeUnmapped",
					Secrets:         [][]byte{fakeVerifier(testUser, []byte(testPassword))},
				})
			})
		}
	}
}
