package negotiate_test

import (
	"testing"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/opensspi/sspi"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/engine/enginetest"
	"github.com/opensspi/sspi/packages/negotiate"
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

func init() {
	secpkg.Register(ntlm.Name, ntlm.New(nil))
	secpkg.Register(negotiate.Name, negotiate.New(nil))
}

const (
	user     = "alice"
	domain   = "EXAMPLE"
	password = "alice-Passw0rd"
	target   = "HOST/server.example.com"
)

// newEngine is an LSA with NTLM and Negotiate (no Kerberos: Negotiate
// chooses NTLM) and an account store holding alice.
func newEngine(t testing.TB, pkgs ...string) *engine.Engine {
	t.Helper()
	if pkgs == nil {
		pkgs = []string{negotiate.Name, ntlm.Name}
	}
	return enginetest.New(t, &enginetest.Config{
		Packages: pkgs,
		Accounts: []enginetest.Account{{Domain: domain, User: user, Password: password}},
	})
}

func ntHash(pw string) []byte {
	h := md4.New()
	for _, u := range utf16.Encode([]rune(pw)) {
		h.Write([]byte{byte(u), byte(u >> 8)})
	}
	return h.Sum(nil)
}

// TestConformance runs the conformance kit on Negotiate over NTLM, in
// both modes.
func TestConformance(t *testing.T) {
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			secpkgtest.Run(t, secpkgtest.Config{
				Package:    negotiate.Name,
				NewHarness: func(t *testing.T) secpkgtest.Harness { return mode.Harness(t, newEngine(t)) },
				User:       user, Domain: domain, Password: []byte(password),
				Target:          target,
				ClientFlags:     sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect,
				ServerFlags:     sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity,
				WantClientFlags: sspi.ISCRetConfidentiality | sspi.ISCRetIntegrity | sspi.ISCRetSequenceDetect | sspi.ISCRetReplayDetect,
				WantServerFlags: sspi.ASCRetConfidentiality | sspi.ASCRetIntegrity | sspi.ASCRetSequenceDetect | sspi.ASCRetReplayDetect,
				Mapped:          true,
				SequenceDetect:  true,
				Exportable:      true,
				// MS-SPNG 3.2.5.2: an empty first token gets NegTokenInit2.
				HintsOnEmptyToken: true,
				Secrets:           [][]byte{ntHash(password)},
			})
		})
	}
}
