package ntlm

import (
	"context"
	"fmt"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// BenchmarkSealUnseal measures one seal by the client and one unseal by
// the server of the same message (extended session security, 128-bit,
// key exchange, connection-oriented), the pair gss-ntlmssp's
// gss_wrap+gss_unwrap anchor measures. MB/s counts the message once.
func BenchmarkSealUnseal(b *testing.B) {
	key := make([]byte, 16)
	flags := flagExtendedSessionSecurity | flagKeyExch | flag128 | flagSign | flagSeal
	for _, n := range []int{1024, 65536} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			client := newSessionSecurity(flags, key, true, true)
			server := newSessionSecurity(flags, key, false, true)
			data := make([]byte, n)
			sig := make([]byte, signatureSize)
			msg := []secpkg.Buffer{{Type: secpkg.BufferData, Data: data}, {Type: secpkg.BufferToken, Data: sig}}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := client.sign(msg, 0, true); err != nil {
					b.Fatal(err)
				}
				if err := server.verify(msg, 0, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUserContextSealUnseal is the same pair through the mapped
// user-mode contexts of a real handshake: what the provider calls.
func BenchmarkUserContextSealUnseal(b *testing.B) {
	r := established(b, hsOpts{})
	for _, n := range []int{1024, 65536} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			data := make([]byte, n)
			sig := make([]byte, signatureSize)
			msg := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: sig}, {Type: secpkg.BufferData, Data: data}}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				msg[0].Data = sig
				if err := r.cliUser.SealMessage(0, msg, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := r.srvUser.UnsealMessage(msg, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHandshake is one full NTLMv2 exchange at the package level:
// NEGOTIATE, CHALLENGE, AUTHENTICATE with MIC, the acceptor's checks
// (account lookup, replay cache, audit) and both packed contexts, plus
// credential acquisition and context deletion on both sides.
func BenchmarkHandshake(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := e.handshake(hsOpts{})
		if r.err() != nil {
			b.Fatal(r.err())
		}
		e.cli.DeleteContext(ctx, r.cliCtx)
		e.srv.DeleteContext(ctx, r.srvCtx)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}
