package kerberos

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"fmt"
	"hash"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/secpkg"
)

// BenchmarkSealUnseal measures SealMessage + UnsealMessage in place
// ([TOKEN, DATA], aes256-cts-hmac-sha1-96, sealed, replay and sequence
// detection on) beside its two anchors in the same run, the three
// alternating in blocks of about 512 KiB each (so that they meet the same
// load on a shared machine):
//
//   - goprim: the Go standard library's AES-256-CBC and HMAC-SHA1 over the
//     same bytes (confounder, data, header), encrypt+MAC then decrypt+MAC,
//     with the key schedules and HMAC states made once: the ceiling of
//     any Go implementation (CTS differs from CBC only in the last two
//     blocks);
//   - mit: MIT krb5's gss_wrap + gss_unwrap on an MIT-to-MIT context
//     (testdata/interop/lucid_peer.c benchloop, timed by its own loop;
//     needs the realm of msgstate_interop_test.go, without which the
//     mit metrics are left out).
//
// Metrics, in MB/s of plaintext (10^6 bytes) for a sealed message and its
// unsealing: ours-MB/s, goprim-MB/s, mit-MB/s; of-goprim (ours as a
// fraction of the primitives; goal >= 0.85 at 64 KiB) and x-mit (ours
// over MIT's; goal >= 2 at 1 KiB); ours-allocs/op (ours alone). Take the
// medians over -count:
//
//	eval "$(scripts/dev-realm.sh up)"
//	go test -run '^$' -bench SealUnseal -benchtime 2s -count 3 ./packages/kerberos/
func BenchmarkSealUnseal(b *testing.B) {
	bin, env := mitBenchPeer(b)
	for _, n := range []int{1024, 65536} {
		b.Run(fmt.Sprintf("aes256-sha1/%d", n), func(b *testing.B) {
			var mit *wrapPeer
			if bin != "" {
				mit = startWrapPeer(b, bin, env, n)
			}
			ini, acc := newPair(b, kcrypto.AES256CTSHMACSHA196, pairOpts{acceptorSubkey: true, replay: true, sequence: true})
			tok := make([]byte, ini.sizes().SecurityTrailer)
			data := payload(n)
			bufs := make([]secpkg.Buffer, 2)
			one := func() {
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
			block := max(1, 512<<10/n)
			var tOurs, tPrim, tMIT time.Duration
			b.ResetTimer()
			for left := b.N; left > 0; left -= block {
				k := min(left, block)
				t0 := time.Now()
				for range k {
					one()
				}
				t1 := time.Now()
				for range k {
					prim.wrapUnwrap()
				}
				tOurs += t1.Sub(t0)
				tPrim += time.Since(t1)
				if mit != nil {
					tMIT += mit.run(b, k)
				}
			}
			b.StopTimer()
			mb := float64(b.N) * float64(n) / 1e6
			ours, pr := mb/tOurs.Seconds(), mb/tPrim.Seconds()
			b.ReportMetric(ours, "ours-MB/s")
			b.ReportMetric(pr, "goprim-MB/s")
			b.ReportMetric(ours/pr, "of-goprim")
			if mit != nil {
				m := mb / tMIT.Seconds()
				b.ReportMetric(m, "mit-MB/s")
				b.ReportMetric(ours/m, "x-mit")
			}
			b.ReportMetric(testing.AllocsPerRun(100, one), "ours-allocs/op")
		})
	}
}

// primitives is the ceiling: the standard library's primitives for the
// bytes of one sealed aes256-cts-hmac-sha1-96 Wrap token.
type primitives struct {
	enc, dec cipher.BlockMode
	mac      hash.Hash
	pt, ct   []byte
	iv, sum  []byte
}

func newPrimitives(n int) *primitives {
	blk, _ := aes.NewCipher(make([]byte, 32))
	iv := make([]byte, 16)
	return &primitives{enc: cipher.NewCBCEncrypter(blk, iv), dec: cipher.NewCBCDecrypter(blk, iv),
		mac: hmac.New(sha1.New, make([]byte, 20)), pt: make([]byte, 16+n+16), ct: make([]byte, 16+n+16),
		iv: iv, sum: make([]byte, 0, sha1.Size)}
}

// wrapUnwrap is one message each way. n+32 is a multiple of 16 for the
// sizes measured.
func (p *primitives) wrapUnwrap() {
	type ivSetter interface{ SetIV([]byte) }
	p.enc.(ivSetter).SetIV(p.iv)
	p.enc.CryptBlocks(p.ct, p.pt)
	p.mac.Reset()
	p.mac.Write(p.pt)
	p.sum = p.mac.Sum(p.sum[:0])
	p.dec.(ivSetter).SetIV(p.iv)
	p.dec.CryptBlocks(p.pt, p.ct)
	p.mac.Reset()
	p.mac.Write(p.pt)
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
