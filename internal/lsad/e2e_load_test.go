//go:build linux

package lsad_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
)

// TestE2EConcurrentHandshakes runs 1000 NTLM handshakes at once through
// lsad, from 100 connections (applications) as 10 different users. Every
// one succeeds; every server sees its own client's user; every pair has a
// session key of its own; each pair's sealed message opens only with its
// own server context. After a warm-up round, a second round must leave
// lsad where it was: handles, connections, goroutines, open files (its
// own count and /proc/PID/fd) and live heap (see settled).
func TestE2EConcurrentHandshakes(t *testing.T) {
	const users, conns, handshakes = 10, 100, 1000
	d := startDaemon(t, "load", daemonOpts{})
	passwords := make([]string, users)
	for i := range passwords {
		passwords[i] = fmt.Sprintf("pw-%d-%s", i, rand.Text()[:10])
		d.addUser(t, fmt.Sprintf("user%d", i), passwords[i])
	}
	round := func(t *testing.T) {
		providers := make([]*sspi.Provider, conns)
		for i := range providers {
			providers[i] = sspi.NewProvider(d.client(t), &sspi.ProviderConfig{CallTimeout: time.Minute})
		}
		pairs := make([]*pair, handshakes)
		creds := make([][2]*sspi.Credentials, handshakes)
		start := make(chan struct{})
		errs := make(chan error, handshakes)
		var wg sync.WaitGroup
		for k := range handshakes {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				p, u := providers[k%conns], k%users
				<-start
				cc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, &sspi.CredentialsOptions{
					Identity: &sspi.AuthIdentity{User: fmt.Sprintf("user%d", u), Domain: domain, Password: []byte(passwords[u])}})
				if err != nil {
					errs <- fmt.Errorf("handshake %d: client credentials: %w", k, err)
					return
				}
				sc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
				if err != nil {
					errs <- fmt.Errorf("handshake %d: server credentials: %w", k, err)
					return
				}
				creds[k] = [2]*sspi.Credentials{cc, sc}
				pr, err := handshake(ctx, cc, sc)
				pairs[k] = pr
				if err != nil {
					errs <- fmt.Errorf("handshake %d: %w", k, err)
					return
				}
				id, err := pr.server.Identity()
				if err != nil || id.User != fmt.Sprintf("user%d", u) {
					errs <- fmt.Errorf("handshake %d of user%d: the server saw %v (%v)", k, u, id, err)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}

		// Each pair's message opens only with its own server context:
		// first every server refuses its neighbour's message, then each
		// opens its own.
		keys := make(map[string]int, handshakes)
		msgs, toks := make([][]byte, handshakes), make([][]byte, handshakes)
		for k, pr := range pairs {
			ck, _ := pr.client.SessionKey()
			sk, _ := pr.server.SessionKey()
			if len(ck) != 16 || !bytes.Equal(ck, sk) {
				t.Fatalf("pair %d: session keys %x / %x", k, ck, sk)
			}
			if j, dup := keys[string(ck)]; dup {
				t.Fatalf("pairs %d and %d share a session key", j, k)
			}
			keys[string(ck)] = k
			if k%50 == 0 {
				noteSecret("session key", ck) // a sample: the sweep reads every log for each
			}
			msgs[k] = fmt.Appendf(nil, "for pair %d only", k)
			var err error
			if toks[k], err = pr.client.Wrap(msgs[k], true); err != nil {
				t.Fatal(err)
			}
		}
		for k := range pairs {
			other := pairs[(k+1)%handshakes]
			if _, _, err := other.server.Unwrap(toks[k]); !errors.Is(err, sspi.StatusMessageAltered) {
				t.Fatalf("pair %d's message unwrapped by pair %d: %v, want SEC_E_MESSAGE_ALTERED", k, (k+1)%handshakes, err)
			}
		}
		for k, pr := range pairs {
			if got, _, err := pr.server.Unwrap(toks[k]); err != nil || !bytes.Equal(got, msgs[k]) {
				t.Fatalf("pair %d: Unwrap = %q, %v", k, got, err)
			}
		}
		for k, pr := range pairs {
			pr.delete()
			creds[k][0].Free()
			creds[k][1].Free()
		}
		for _, p := range providers {
			p.Close()
		}
	}

	t.Run("WarmUp", round)
	base := settled(t, d, nil)
	t.Logf("baseline after the warm-up: %d goroutines, %d open files (/proc: %d), %d KiB live heap, %d objects", base.Goroutines, base.OpenFiles, base.procFDs, base.HeapAlloc>>10, base.HeapObjects)
	t.Run("Measured", round)
	// LSAD_E2E_ROUNDS=N runs N more rounds, a soak that logs lsad's
	// live heap after each.
	more, _ := strconv.Atoi(os.Getenv("LSAD_E2E_ROUNDS"))
	for i := range more {
		t.Run("More", round)
		st := settled(t, d, nil)
		t.Logf("after %d more rounds: %d KiB live heap, %d objects", i+1, st.HeapAlloc>>10, st.HeapObjects)
	}
	st := settled(t, d, base)
	t.Logf("after the measured round: %d goroutines, %d open files (/proc: %d), %d KiB live heap, %d objects", st.Goroutines, st.OpenFiles, st.procFDs, st.HeapAlloc>>10, st.HeapObjects)
}

// snapshot is lsad's statistics and its open files as /proc lists them
// (-1 where that cannot be read).
type snapshot struct {
	*lsa.StatsReply
	procFDs int
}

// settled waits until lsad holds nothing but the admin connection and
// returns its statistics; with a baseline, it also waits until the
// daemon's goroutines and open files are back to it, its live heap objects
// within 500 of it (a handshake leaves at least half a dozen objects
// behind if it leaks), and its live heap bytes within 2 MiB (Go maps keep
// their high-water capacity: soaked over 12 rounds, lsad's heap grows in
// steps to about 1 MiB above the baseline and stays there, while its
// object count does not move).
func settled(t *testing.T, d *daemon, base *snapshot) *snapshot {
	t.Helper()
	var now snapshot
	settledOK := false
	defer func() {
		if !settledOK && base != nil && d.alive() {
			// Leave the evidence: SIGQUIT makes the Go runtime write
			// every goroutine's stack to lsad's log, which the failed
			// test keeps.
			d.signal(t, syscall.SIGQUIT)
			d.wait(t, 30*time.Second)
			t.Logf("lsad's goroutines are in its log (SIGQUIT)")
		}
	}()
	eventually(t, 30*time.Second, func() error {
		now = snapshot{d.stats(t), d.fds()}
		switch {
		case now.Engine != lsa.Stats{Conns: 1}:
			return fmt.Errorf("lsad holds %+v", now.Engine)
		case base == nil:
			return nil
		case now.Goroutines > base.Goroutines:
			return fmt.Errorf("lsad runs %d goroutines, %d before", now.Goroutines, base.Goroutines)
		case now.OpenFiles != base.OpenFiles:
			return fmt.Errorf("lsad has %d open files, %d before", now.OpenFiles, base.OpenFiles)
		case now.procFDs != base.procFDs:
			return fmt.Errorf("/proc/%d/fd lists %d files, %d before", d.pid(), now.procFDs, base.procFDs)
		case now.HeapObjects > base.HeapObjects+500:
			return fmt.Errorf("lsad's live heap holds %d objects, %d before", now.HeapObjects, base.HeapObjects)
		case now.HeapAlloc > base.HeapAlloc+2<<20:
			return fmt.Errorf("lsad's live heap is %d KiB, %d KiB before", now.HeapAlloc>>10, base.HeapAlloc>>10)
		}
		return nil
	})
	settledOK = true
	if base == nil {
		// Memory freed just now may still be counted (connections'
		// buffers while their goroutines exit): take the smallest of a
		// few samples as the baseline.
		for range 5 {
			time.Sleep(20 * time.Millisecond)
			if st := d.stats(t); st.HeapObjects < now.HeapObjects {
				now.StatsReply = st
			}
		}
	}
	return &now
}
