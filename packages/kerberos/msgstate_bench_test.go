package kerberos

import (
	"bufio"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// BenchmarkSealUnseal measures a sealed message and its unsealing
// (aes256-cts-hmac-sha1-96, replay and sequence detection on) beside its
// two anchors in the same run, all sides alternating in blocks of 64 KiB
// of messages each (so that they meet the same load on a shared machine):
//
//   - ours: the user-mode half's SealMessage + UnsealMessage in place
//     ([TOKEN, DATA]) on a pair of message states;
//   - api, api-reuse (with a realm): the public API on contexts
//     established through an embedded LSA with the KDC (service ticket
//     and subkeys aes256-cts-hmac-sha1-96), Wrap + Unwrap (which allocate
//     their output, as gss_wrap and gss_unwrap do) and AppendWrap into a
//     reused buffer + UnwrapInPlace;
//   - goprim: the Go standard library's AES-256-CBC and HMAC-SHA1 over the
//     same bytes (confounder, data, header), encrypt+MAC then decrypt+MAC,
//     with the key schedules and HMAC states made once: the ceiling of
//     any Go implementation (CTS differs from CBC only in the last two
//     blocks);
//   - mit (with a realm): MIT krb5's gss_wrap + gss_unwrap on an
//     MIT-to-MIT context (testdata/interop/lucid_peer.c benchloop, timed
//     by its own loop).
//
// Metrics, in MB/s of plaintext (10^6 bytes) for a sealed message and its
// unsealing: <side>-MB/s (from the total times); of-goprim (ours as a fraction of the
// primitives; goal >= 0.85 at 64 KiB) and x-mit (ours over MIT's; goal
// >= 2 at 1 KiB), each the median of the ratios of the blocks, and the
// same for api-reuse and api; ours-allocs/op
// (ours alone). Take the medians over -count:
//
//	eval "$(scripts/dev-realm.sh up)"
//	go test -run '^$' -bench SealUnseal -benchtime 2s -count 3 ./packages/kerberos/
func BenchmarkSealUnseal(b *testing.B) {
	bin, env := mitBenchPeer(b)
	for _, n := range []int{1024, 65536} {
		b.Run(fmt.Sprintf("aes256-sha1/%d", n), func(b *testing.B) {
			type runner struct {
				name string
				one  func()                    // one message each way, timed here
				run  func(k int) time.Duration // or k of them, timed by a peer
				t    time.Duration
				// blocks are the times of each block
				blocks []time.Duration
			}
			ini, acc := newPair(b, kcrypto.AES256CTSHMACSHA196, pairOpts{acceptorSubkey: true, replay: true, sequence: true})
			tok := make([]byte, ini.sizes().SecurityTrailer)
			data := payload(n)
			bufs := make([]secpkg.Buffer, 2)
			ours := func() {
				bufs[0] = secpkg.Buffer{Type: secpkg.BufferToken, Data: tok}
				bufs[1] = secpkg.Buffer{Type: secpkg.BufferData, Data: data}
				if err := ini.sealMessage(0, bufs); err != nil {
					b.Fatal(err)
				}
				if _, err := acc.unsealMessage(bufs); err != nil {
					b.Fatal(err)
				}
			}
			prim := newPrimitives(n)
			runners := []*runner{{name: "ours", one: ours}, {name: "goprim", one: prim.wrapUnwrap}}
			if bin != "" {
				c, s := apiPair(b, requireMITRealmOrEmpty())
				var wtok []byte
				reuse := func() {
					var err error
					if wtok, err = c.AppendWrap(wtok[:0], true, data); err != nil {
						b.Fatal(err)
					}
					if _, _, err := s.UnwrapInPlace(wtok); err != nil {
						b.Fatal(err)
					}
				}
				alloc := func() {
					t, err := c.Wrap(data, true)
					if err != nil {
						b.Fatal(err)
					}
					if _, _, err := s.Unwrap(t); err != nil {
						b.Fatal(err)
					}
				}
				reuse()
				if len(wtok) != n+60 { // 16 + 16 + 16 + 12: an aes-sha1 token
					b.Fatalf("the contexts' Wrap token has %d bytes of overhead, want 60 (aes256-cts-hmac-sha1-96)", len(wtok)-n)
				}
				mit := startWrapPeer(b, bin, env, n)
				runners = append(runners, &runner{name: "api-reuse", one: reuse}, &runner{name: "api", one: alloc},
					&runner{name: "mit", run: func(k int) time.Duration { return mit.run(b, k) }})
			}
			block := max(1, 64<<10/n)
			b.ResetTimer()
			for left := b.N; left > 0; left -= block {
				k := min(left, block)
				for _, r := range runners {
					var d time.Duration
					if r.run != nil {
						d = r.run(k)
					} else {
						t0 := time.Now()
						for range k {
							r.one()
						}
						d = time.Since(t0)
					}
					r.t += d
					r.blocks = append(r.blocks, d)
				}
			}
			b.StopTimer()
			mb := float64(b.N) * float64(n) / 1e6
			byName := map[string]*runner{}
			for _, r := range runners {
				byName[r.name] = r
				b.ReportMetric(mb/r.t.Seconds(), r.name+"-MB/s")
			}
			// A ratio is the median of the blocks' ratios: a burst of
			// load from elsewhere then sways one block, not the figure.
			ratio := func(ours, theirs *runner) float64 {
				q := make([]float64, len(ours.blocks))
				for i := range q {
					q[i] = float64(theirs.blocks[i]) / float64(ours.blocks[i])
				}
				slices.Sort(q)
				return q[len(q)/2]
			}
			for _, side := range []string{"ours", "api-reuse", "api"} {
				r := byName[side]
				if r == nil {
					continue
				}
				prefix := ""
				if side != "ours" {
					prefix = side + "-"
				}
				b.ReportMetric(ratio(r, byName["goprim"]), prefix+"of-goprim")
				if m := byName["mit"]; m != nil {
					b.ReportMetric(ratio(r, m), prefix+"x-mit")
				}
			}
			b.ReportMetric(testing.AllocsPerRun(100, ours), "ours-allocs/op")
		})
	}
}

// apiPair establishes a mutually authenticated context pair through an
// embedded LSA with this package, the realm's KDC and a krb5.conf that
// asks for aes256-cts-hmac-sha1-96 tickets only.
func apiPair(b *testing.B, r *mitRealm) (*sspi.ClientContext, *sspi.ServerContext) {
	conf, err := os.ReadFile(r.config)
	if err != nil {
		b.Fatal(err)
	}
	c := strings.Replace(string(conf), "[libdefaults]", "[libdefaults]\n\tdefault_tgs_enctypes = aes256-cts-hmac-sha1-96\n\tdefault_tkt_enctypes = aes256-cts-hmac-sha1-96", 1)
	path := filepath.Join(b.TempDir(), "krb5.conf")
	if err := os.WriteFile(path, []byte(c), 0o600); err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(&engine.Config{Packages: []string{Name},
		Configured: map[string]secpkg.Package{Name: New(&Config{ConfigFiles: []string{path}, Keytabs: []string{r.keytab}})}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	p := sspi.NewProvider(e.Connect(engine.CurrentProcess()), nil)
	b.Cleanup(func() { p.Close() })
	ctx := context.Background()
	user, realm, _ := strings.Cut(r.user, "@")
	cc, err := p.AcquireCredentials(ctx, Name, sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: realm, Password: []byte(r.password)}})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := p.AcquireCredentials(ctx, Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: strings.Replace(r.service, "@", "/", 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Free(); sc.Free() })
	cl := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: r.service, Flags: sspi.ISCReqMutualAuth | sspi.ISCReqConfidentiality |
		sspi.ISCReqIntegrity | sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect})
	sv := sspi.NewServerContext(sc, nil)
	b.Cleanup(func() { cl.Delete(); sv.Delete() })
	if err := secpkgtest.Handshake(ctx, cl, sv); err != nil {
		b.Fatal(err)
	}
	return cl, sv
}

// primitives is the ceiling: the standard library's primitives for the
// bytes of one sealed aes256-cts-hmac-sha1-96 Wrap token, in place as
// ours are: HMAC over the plaintext (confounder, data, header) and CBC
// encryption of it, then CBC decryption and the HMAC again.
type primitives struct {
	enc, dec cipher.BlockMode
	mac      hash.Hash
	buf      []byte
	iv, sum  []byte
}

func newPrimitives(n int) *primitives {
	blk, _ := aes.NewCipher(make([]byte, 32))
	iv := make([]byte, 16)
	return &primitives{enc: cipher.NewCBCEncrypter(blk, iv), dec: cipher.NewCBCDecrypter(blk, iv),
		mac: hmac.New(sha1.New, make([]byte, 20)), buf: make([]byte, 16+n+16), iv: iv, sum: make([]byte, 0, sha1.Size)}
}

// wrapUnwrap is one message each way. n+32 is a multiple of 16 for the
// sizes measured.
func (p *primitives) wrapUnwrap() {
	type ivSetter interface{ SetIV([]byte) }
	p.mac.Reset()
	p.mac.Write(p.buf)
	p.sum = p.mac.Sum(p.sum[:0])
	p.enc.(ivSetter).SetIV(p.iv)
	p.enc.CryptBlocks(p.buf, p.buf)
	p.dec.(ivSetter).SetIV(p.iv)
	p.dec.CryptBlocks(p.buf, p.buf)
	p.mac.Reset()
	p.mac.Write(p.buf)
	p.sum = p.mac.Sum(p.sum[:0])
}

// mitBenchPeer builds lucid_peer if the MIT realm is configured.
func mitBenchPeer(b *testing.B) (string, []string) {
	r := requireMITRealmOrEmpty()
	if r == nil {
		b.Log("MIT realm not configured: no mit-MB/s anchor")
		return "", nil
	}
	return buildLucidPeer(b, b.TempDir()), r.env(kcrypto.AES256CTSHMACSHA196)
}

// wrapPeer is a running "lucid_peer benchloop".
type wrapPeer struct {
	in  io.WriteCloser
	out *bufio.Scanner
}

// startWrapPeer runs lucid_peer benchloop for n-byte messages until the
// benchmark ends, and waits until its context is made.
func startWrapPeer(b *testing.B, bin string, env []string, n int) *wrapPeer {
	cmd := exec.Command(bin, "benchloop", strconv.Itoa(n))
	cmd.Env = env
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); cmd.Wait() })
	p := &wrapPeer{in: in, out: bufio.NewScanner(out)}
	if !p.out.Scan() || p.out.Text() != "ready" {
		in.Close()
		cmd.Wait()
		b.Fatalf("lucid_peer benchloop did not start: %s", stderr.String())
	}
	return p
}

// run has the peer make k wrap+unwrap pairs and returns the time its loop
// took.
func (p *wrapPeer) run(b *testing.B, k int) time.Duration {
	fmt.Fprintf(p.in, "run %d\n", k)
	if !p.out.Scan() {
		b.Fatal("lucid_peer benchloop exited")
	}
	f := strings.Fields(p.out.Text())
	if len(f) != 3 || f[0] != "done" || f[1] != strconv.Itoa(k) {
		b.Fatalf("lucid_peer benchloop: %q", p.out.Text())
	}
	ns, err := strconv.ParseFloat(f[2], 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(ns)
}
