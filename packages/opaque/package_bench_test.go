package opaque

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// BenchmarkSealUnseal is one EncryptMessage by the client and one
// DecryptMessage by the server of the same message through the mapped
// contexts' code (AES-256-GCM, sequence detection on), beside the anchor:
// AES-256-GCM sealing and opening in place as crypto/tls does for a TLS
// 1.3 record, in the same run. MB/s counts the message once.
func BenchmarkSealUnseal(b *testing.B) {
	for _, n := range []int{1024, 65536} {
		b.Run(fmt.Sprintf("OPAQUE/%d", n), func(b *testing.B) {
			key := bytes.Repeat([]byte{1}, Nx)
			now := time.Now()
			cli, _ := newSession(roleInitiator, key, contextFlags(wireSequenceDetect, 0), now)
			srv, _ := newSession(roleAcceptor, key, contextFlags(wireSequenceDetect, 0), now)
			data := make([]byte, n)
			trailer := make([]byte, trailerSize)
			msg := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: trailer}, {Type: secpkg.BufferData, Data: data}}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				msg[0].Data = trailer
				if err := cli.sealMessage(0, msg); err != nil {
					b.Fatal(err)
				}
				if _, err := srv.unsealMessage(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("AES-256-GCM-anchor/%d", n), func(b *testing.B) {
			block, _ := aes.NewCipher(bytes.Repeat([]byte{1}, 32))
			aead, _ := cipher.NewGCM(block)
			buf := make([]byte, n, n+aead.Overhead())
			nonce := make([]byte, 12)
			ad := make([]byte, 5)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				sealed := aead.Seal(buf[:0], nonce, buf, ad)
				if _, err := aead.Open(sealed[:0], nonce, sealed, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchAcceptor is an LSA-mode half on a fake LSA holding alice, and a
// KE1 token for alice and one for an unknown name.
func benchAcceptor(b *testing.B) (*lsaPackage, secpkg.Handle, map[string][]byte) {
	ctx := context.Background()
	f := newFakeLSA()
	p := newLSAPackage(PackageConfig{KSF: InsecureIdentityKSF(), InsecureAllowIdentityKSF: true, Secrets: FileSecretStore(b.TempDir()), InsecureRegisterInLSA: true})
	if err := p.Initialize(ctx, 0, &engineParams, f); err != nil {
		b.Fatal(err)
	}
	v, err := p.MakeVerifier(ctx, testUser, testDomain, []byte(testPassword))
	if err != nil {
		b.Fatal(err)
	}
	f.addAccount(testDomain, testUser, v)
	cred, err := p.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialBoth, Principal: testTarget,
		Identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte("wrong")}})
	if err != nil {
		b.Fatal(err)
	}
	tokens := map[string][]byte{}
	for _, user := range []string{testUser, "nobody"} {
		c, _ := p.creds.Get(cred.Handle)
		c.user = user
		res, err := p.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cred.Handle, Target: testTarget})
		if err != nil {
			b.Fatal(err)
		}
		tokens[user] = res.Token
		p.DeleteContext(ctx, res.Context)
	}
	return p, cred.Handle, tokens
}

// BenchmarkAcceptKE1 is the acceptor's first leg, KE1 token in and KE2
// token out, for a known account (with its record) and for an unknown
// one (the dummy record parsed, the fake record used): the work must be
// the same. The account lookup is a map here, so the figures are the
// package's own.
func BenchmarkAcceptKE1(b *testing.B) {
	p, cred, tokens := benchAcceptor(b)
	ctx := context.Background()
	for _, user := range benchOrder {
		name := map[string]string{testUser: "known", "nobody": "unknown"}[user]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				res, err := p.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: cred, Token: tokens[user]})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Token) != ke2TokenSize {
					b.Fatalf("KE2 token of %d bytes", len(res.Token))
				}
				p.DeleteContext(ctx, res.Context)
			}
			cpu.report(b)
		})
	}
}

// BenchmarkHandshake is a whole login through the embedded LSA engine and
// the provider, the three legs, with the engine tests' small Argon2id
// (m = 64 KiB, t = 1, p = 1) so that the figure is the protocol's and the
// LSA's; the KSF adds what BenchmarkLogin measures.
func BenchmarkHandshake(b *testing.B) {
	env := newEngine(b, nil)
	p := env.provider(b)
	b.ReportAllocs()
	for b.Loop() {
		if r := env.run(b, p, testUser, []byte(testPassword), nil, nil); r.err != nil {
			b.Fatal(r.err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}

// cpuMeter reports a benchmark's process CPU time per operation
// ("cpu-ns/op"), which a busy machine disturbs less than the wall clock.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	t, ok := processCPU()
	return cpuMeter{t, ok}
}

func (m cpuMeter) report(b *testing.B) {
	if end, ok := processCPU(); ok && m.ok && b.N > 0 {
		b.ReportMetric(float64(end-m.start)/float64(b.N), "cpu-ns/op")
	}
}

// benchOrder is the order of BenchmarkAcceptKE1's cases.
var benchOrder = []string{testUser, "nobody"}
