package ntlm_test

import (
	"context"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// BenchmarkEmbeddedHandshake is a whole NTLM handshake (NEGOTIATE,
// CHALLENGE, AUTHENTICATE; both sides, through the provider and the LSA,
// the account looked up in the memory store, both contexts mapped) in
// embedded mode.
func BenchmarkEmbeddedHandshake(b *testing.B) {
	for _, mode := range secpkgtest.Modes {
		b.Run(mode.Name, func(b *testing.B) {
			e := newEngine(b)
			p := sspi.NewProvider(mode.Harness(b, e).Connect(b), nil)
			defer p.Close()
			ctx := context.Background()
			cc, err := p.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}})
			if err != nil {
				b.Fatal(err)
			}
			sc, err := p.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
			if err != nil {
				b.Fatal(err)
			}
			flags := sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: flags})
				s := sspi.NewServerContext(sc, nil)
				if err := secpkgtest.Handshake(ctx, c, s); err != nil {
					b.Fatal(err)
				}
				c.Delete()
				s.Delete()
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "handshakes/s")
		})
	}
}

// BenchmarkParallelHandshake runs handshakes from several goroutines at
// once, each with its own connection to the LSA (as separate application
// processes would have), to measure what one LSA serves.
func BenchmarkParallelHandshake(b *testing.B) {
	for _, mode := range secpkgtest.Modes {
		b.Run(mode.Name, func(b *testing.B) {
			e := newEngine(b)
			h := mode.Harness(b, e)
			ctx := context.Background()
			flags := sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect
			b.SetParallelism(4)
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				p := sspi.NewProvider(h.Connect(b), nil)
				defer p.Close()
				cc, err := p.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}})
				if err != nil {
					b.Error(err)
					return
				}
				sc, err := p.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
				if err != nil {
					b.Error(err)
					return
				}
				for pb.Next() {
					c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: flags})
					s := sspi.NewServerContext(sc, nil)
					if err := secpkgtest.Handshake(ctx, c, s); err != nil {
						b.Error(err)
						return
					}
					c.Delete()
					s.Delete()
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "handshakes/s")
		})
	}
}
