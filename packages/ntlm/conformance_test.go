package ntlm_test

import (
	"context"
	"errors"
	"testing"
	"unicode/utf16"

	"github.com/opensspi/sspi"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/engine/enginetest"
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"

	"golang.org/x/crypto/md4"
)

func init() { secpkg.Register(ntlm.Name, ntlm.New(nil)) }

const (
	user     = "alice"
	domain   = "EXAMPLE"
	password = "alice-Passw0rd"
	target   = "HOST/server.example.com"
)

// newEngine is an LSA with NTLM and an account store holding alice.
func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	return enginetest.New(t, &enginetest.Config{
		Packages: []string{ntlm.Name},
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

// TestConformance runs the conformance kit on NTLM, through the embedded
// engine and through the daemon protocol.
func TestConformance(t *testing.T) {
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			secpkgtest.Run(t, secpkgtest.Config{
				Package:    ntlm.Name,
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
				// The NT hash is the verifier in the account store and
				// what a logon session keeps.
				Secrets: [][]byte{ntHash(password)},
			})
		})
	}
}

// TestPasswordCheckRateLimit: when the LSA refuses a caller's password
// check (its per-uid rate limit), the peer sees an ordinary logon failure.
func TestPasswordCheckRateLimit(t *testing.T) {
	e := enginetest.New(t, &enginetest.Config{
		Packages: []string{ntlm.Name},
		Accounts: []enginetest.Account{{Domain: domain, User: user, Password: password}},
		Engine: func(c *engine.Config) {
			c.PasswordChecksPerSecond, c.PasswordCheckBurst = 0.001, 1
		},
	})
	p := sspi.NewProvider(e.Connect(engine.CurrentProcess()), nil)
	defer p.Close()
	ctx := context.Background()
	cc, _ := p.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}})
	sc, _ := p.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
	for i, want := range []error{nil, sspi.ErrLogonDenied} {
		c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target})
		s := sspi.NewServerContext(sc, nil)
		err := secpkgtest.Handshake(ctx, c, s)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Fatalf("handshake %d: %v, want %v", i, err, want)
		}
		c.Delete()
		s.Delete()
	}
}
