package opaque

import (
	"context"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// TestConformance runs the conformance kit on OPAQUE, through the
// embedded engine and through the daemon protocol, each with its account
// registered through that mode's registration call (lsa.Registration),
// never by a password given to the LSA.
func TestConformance(t *testing.T) {
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			secrets := newSecretSlots()
			secpkgtest.Run(t, secpkgtest.Config{
				Package: Name,
				NewHarness: func(t *testing.T) secpkgtest.Harness {
					// alice is added and registered through the
					// harness's own connection to the LSA: in the
					// daemon mode, over the LSA protocol.
					env := newBareEngine(t, nil)
					h := mode.Harness(t, env.e)
					conn := h.Connect(t)
					ctx := context.Background()
					if err := conn.(lsa.Admin).AddAccount(ctx, &lsa.AccountRequest{Domain: testDomain, User: testUser, Groups: []string{"users"}}); err != nil {
						t.Fatal(err)
					}
					if err := registerThrough(ctx, conn.(lsa.Registration), testDomain, testUser, "", []byte(testPassword)); err != nil {
						t.Fatal(err)
					}
					secrets.fill(t, env)
					return h
				},
				User: testUser, Domain: testDomain, Password: []byte(testPassword),
				Target:          testTarget,
				ClientFlags:     sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect | sspi.ISCReqMutualAuth,
				ServerFlags:     sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity,
				WantClientFlags: sspi.ISCRetConfidentiality | sspi.ISCRetIntegrity | sspi.ISCRetSequenceDetect | sspi.ISCRetReplayDetect | sspi.ISCRetMutualAuth,
				WantServerFlags: sspi.ASCRetConfidentiality | sspi.ASCRetIntegrity | sspi.ASCRetSequenceDetect | sspi.ASCRetReplayDetect | sspi.ASCRetMutualAuth,
				Mapped:          true,
				SequenceDetect:  true,
				Exportable:      true,
				Secrets:         secrets.list(),
			})
		})
	}
}

// secretSlots are the long-term secrets the kit must never see leave the
// LSA: the server setup (whole, and its seed and private key), the stored
// record and its masking key. The kit copies its Config before any
// harness exists, so the slots are allocated now and filled by each new
// harness (testNoSecrets checks against the harness it makes).
type secretSlots struct {
	setup, seed, key, verifier, maskingKey []byte
}

func newSecretSlots() *secretSlots {
	cid := credentialIdentifierOfKeys(foldKey(testDomain), foldKey(testUser))
	return &secretSlots{
		setup: make([]byte, ServerSetupSize), seed: make([]byte, Nh), key: make([]byte, Nsk),
		verifier:   make([]byte, 1+ksfSize+Npk+2+len(cid)+RegistrationRecordSize),
		maskingKey: make([]byte, Nh),
	}
}

func (s *secretSlots) list() [][]byte {
	return [][]byte{s.setup, s.seed, s.key, s.verifier, s.maskingKey}
}

func (s *secretSlots) fill(t *testing.T, env *testEnv) {
	t.Helper()
	ctx := context.Background()
	a, err := env.store.Lookup(ctx, testDomain, testUser)
	if err != nil {
		t.Fatal(err)
	}
	v := a.Verifiers[Name]
	setup, err := env.store.Secret(ctx, Name, setupSecretName)
	if err != nil || len(v) != len(s.verifier) || len(setup) != ServerSetupSize {
		t.Fatalf("secrets of %d and %d bytes: %v", len(v), len(setup), err)
	}
	sr, err := parseStoredRecord(v)
	if err != nil {
		t.Fatal(err)
	}
	copy(s.setup, setup)
	copy(s.seed, setup[:Nh])
	copy(s.key, setup[Nh:])
	copy(s.verifier, v)
	copy(s.maskingKey, sr.record.maskingKey)
}
