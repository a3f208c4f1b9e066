package sspi_test

import (
	"context"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// BenchmarkStep measures the first InitializeSecurityContext leg of the
// three-token test package (a new context, one leg that continues, then
// delete), first by calling the package's SpInitLsaModeContext and
// SpDeleteContext directly and then through the provider and the embedded
// LSA. The difference is the dispatcher and LSA overhead of a step.
func BenchmarkStep(b *testing.B) {
	e := newEngine(b, nil)
	ctx := context.Background()
	b.Run("Direct", func(b *testing.B) {
		f := lastFake("Fake3")
		cred, err := f.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound, Identity: alice()})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			res, err := f.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cred.Handle, Target: testTarget})
			if err != nil {
				b.Fatal(err)
			}
			f.DeleteContext(ctx, res.Context)
		}
	})
	b.Run("Embedded", func(b *testing.B) {
		p := newProvider(b, e)
		cred, err := p.AcquireCredentials(ctx, "Fake3", sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: alice()})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: testTarget})
			if _, _, err := c.Initialize(ctx, nil); err != nil {
				b.Fatal(err)
			}
			c.Delete()
		}
	})
}

// BenchmarkHandshake measures a whole handshake (both sides, every leg,
// mapping included) in embedded mode.
func BenchmarkHandshake(b *testing.B) {
	e := newEngine(b, nil)
	p := newProvider(b, e)
	ctx := context.Background()
	for _, pkg := range []string{"Fake1", "Fake3", "Fake5"} {
		b.Run(pkg, func(b *testing.B) {
			cc, _ := p.AcquireCredentials(ctx, pkg, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: alice()})
			sc, _ := p.AcquireCredentials(ctx, pkg, sspi.CredentialInbound, nil)
			b.ReportAllocs()
			for b.Loop() {
				c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: testTarget})
				s := sspi.NewServerContext(sc, nil)
				if err := secpkgtest.Handshake(ctx, c, s); err != nil {
					b.Fatal(err)
				}
				c.Delete()
				s.Delete()
			}
		})
	}
}

// BenchmarkMessage compares a MakeSignature+VerifySignature pair of 1 KiB
// on a mapped context (run in this process) and on an unmapped one (two
// calls into the LSA).
func BenchmarkMessage(b *testing.B) {
	e := newEngine(b, nil)
	p := newProvider(b, e)
	msg := make([]byte, 1024)
	for _, tc := range []struct{ name, pkg string }{{"Mapped", "Fake3"}, {"Unmapped", "FakeUnmapped"}} {
		b.Run(tc.name, func(b *testing.B) {
			c, s := established(b, p, tc.pkg)
			sig := make([]byte, 24)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				m := []sspi.Buffer{{Type: secpkg.BufferData, Data: msg}, {Type: secpkg.BufferToken, Data: sig[:24]}}
				if err := c.MakeSignature(0, m, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := s.VerifySignature(m, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func lastFake(name string) *fakeLSA {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	for i := len(fakeLSAs) - 1; i >= 0; i-- {
		if fakeLSAs[i].name == name {
			return fakeLSAs[i]
		}
	}
	return nil
}
