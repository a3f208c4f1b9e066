package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

func key(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func openTest(t *testing.T, path string) *replayFile {
	t.Helper()
	return openTestMode(t, path, true)
}

// openTestMode opens the file shared, or alone (the LSA then keeps a
// mirror of it).
func openTestMode(t *testing.T, path string, shared bool) *replayFile {
	t.Helper()
	f, err := openReplayFile(path, 10*time.Minute, shared)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.close() })
	return f
}

// TestReplayFileSurvivesReopen: a key stored is refused by the file
// reopened (a restarted LSA) and by another opener (another LSA on the
// same file), until it expires.
func TestReplayFileSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rc")
	now := time.Unix(1_700_000_000, 0)
	a := openTest(t, path)
	if err := a.store(key("a"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := a.store(key("a"), now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	a.close()
	b := openTest(t, path)
	c := openTest(t, path)
	if err := b.store(key("a"), now.Add(time.Minute), now.Add(time.Second)); !errors.Is(err, secpkg.ErrReplay) {
		t.Fatalf("replay after reopening: %v", err)
	}
	if err := b.store(key("b"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := c.store(key("b"), now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
		t.Fatalf("replay through another opener: %v", err)
	}
	later := now.Add(2 * time.Minute)
	if err := c.store(key("a"), later.Add(time.Minute), later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

// TestReplayFileGrows: keys that share a bucket go to new tables, and are
// found there.
func TestReplayFileGrows(t *testing.T) {
	forEachMode(t, testReplayFileGrows)
}

// forEachMode runs test with the file shared and alone, and alone with no
// room for a mirror.
func forEachMode(t *testing.T, test func(t *testing.T, shared bool)) {
	t.Run("shared", func(t *testing.T) { test(t, true) })
	t.Run("alone", func(t *testing.T) { test(t, false) })
	t.Run("alone-unmirrored", func(t *testing.T) {
		old := replayMirrorMax
		replayMirrorMax = 0
		defer func() { replayMirrorMax = old }()
		test(t, false)
	})
}

func testReplayFileGrows(t *testing.T, shared bool) {
	path := filepath.Join(t.TempDir(), "rc")
	r := openTestMode(t, path, shared)
	now := time.Unix(1_700_000_000, 0)
	// Keys whose first eight bytes are equal share a bucket in every
	// table: two fit per table.
	var keys [][32]byte
	for i := range 7 {
		k := key("x")
		binary.BigEndian.PutUint64(k[24:], uint64(i))
		keys = append(keys, k)
		if err := r.store(k, now.Add(time.Minute), now); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	if r.tables != 4 {
		t.Fatalf("%d tables, want 4", r.tables)
	}
	r.close()
	r = openTestMode(t, path, shared)
	for i, k := range keys {
		if err := r.store(k, now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
			t.Fatalf("key %d after reopening: %v", i, err)
		}
	}
	r.max = r.tables
	for i := 7; i < 9; i++ {
		k := key("x")
		binary.BigEndian.PutUint64(k[24:], uint64(i))
		err := r.store(k, now.Add(time.Minute), now)
		if i == 7 && err != nil {
			t.Fatal(err)
		}
		if i == 8 && !errors.Is(err, secpkg.StatusInsufficientMemory) {
			t.Fatalf("full: %v", err)
		}
	}
}

// TestReplayFileDamage: a damaged record makes the keys that could have
// been there refused until the amnesia interval has passed; a damaged
// header or size stops the opening.
func TestReplayFileDamage(t *testing.T) {
	forEachMode(t, testReplayFileDamage)
}

func testReplayFileDamage(t *testing.T, shared bool) {
	path := filepath.Join(t.TempDir(), "rc")
	now := time.Unix(1_700_000_000, 0)
	r := openTestMode(t, path, shared)
	if err := r.store(key("a"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	r.close()
	b, _ := os.ReadFile(path)
	ka := key("a")
	h := binary.BigEndian.Uint64(ka[:8])
	at := int(tableOffset(0)) + int((h%(replayBaseSlots/2))*2)*replayRecord
	b[at+3] ^= 0x10 // one bit of the key
	os.WriteFile(path, b, 0o600)

	r = openTestMode(t, path, shared)
	// The genuine key is not recognized, but its bucket is refused: a
	// replay of it still fails.
	if err := r.store(key("a"), now.Add(time.Minute), now); err == nil || errors.Is(err, secpkg.ErrReplay) {
		t.Fatalf("key of a damaged bucket: %v", err)
	}
	k2 := key("a")
	binary.BigEndian.PutUint64(k2[24:], 99) // same bucket, another key
	if err := r.store(k2, now.Add(time.Minute), now.Add(time.Minute)); err == nil {
		t.Fatal("another key of the damaged bucket accepted within the amnesia interval")
	}
	if err := r.store(key("elsewhere"), now.Add(time.Minute), now); err != nil {
		t.Fatalf("key of another bucket: %v", err)
	}
	later := now.Add(11 * time.Minute)
	if err := r.store(k2, later.Add(time.Minute), later); err != nil {
		t.Fatalf("after the amnesia interval: %v", err)
	}
	r.close()

	for name, damage := range map[string]func([]byte) []byte{
		"magic":   func(b []byte) []byte { b[0] ^= 1; return b },
		"version": func(b []byte) []byte { b[11] = 9; return b },
		"size":    func(b []byte) []byte { return b[:len(b)-1] },
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "rc")
			good, _ := os.ReadFile(path)
			os.WriteFile(p, damage(good), 0o600)
			if f, err := openReplayFile(p, time.Minute, false); err == nil {
				f.close()
				t.Fatal("opened")
			}
		})
	}
}

// TestReplayFileRace: many openers (each with its own file description,
// as separate LSAs have) store one key at once: exactly one succeeds
// (MIT's t_rcfile2 race test).
func TestReplayFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rc")
	now := time.Unix(1_700_000_000, 0)
	openTest(t, path) // create it
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range n {
		f := openTest(t, path)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f.store(key("race"), now.Add(time.Minute), now) == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d of %d stores of one key succeeded", ok, n)
	}
}

// TestEngineReplayCacheFile: an engine's CheckReplay refuses, after the
// engine is replaced by another on the same file, what the first
// recorded.
func TestEngineReplayCacheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rc")
	c := newReplayCache(64)
	f, err := openReplayFile(path, time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	c.file = f
	now := time.Now()
	if err := c.check(1, 7, []byte("k"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	c.close()
	c = newReplayCache(64)
	if c.file, err = openReplayFile(path, time.Minute, false); err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.check(1, 8, []byte("k"), now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
		t.Fatalf("after a restart: %v", err)
	}
	// The package is part of the key.
	if err := c.check(2, 8, []byte("k"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
}

// FuzzReplayFile: any file content either fails to open or gives a cache
// whose stores do not panic.
func FuzzReplayFile(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good")
	r, err := openReplayFile(good, time.Minute, false)
	if err != nil {
		f.Fatal(err)
	}
	r.store(key("seed"), time.Unix(2e9, 0), time.Unix(1e9, 0))
	r.close()
	b, _ := os.ReadFile(good)
	f.Add(b, []byte("k"))
	f.Add(b[:replayHeader], []byte("k"))
	f.Add([]byte("OSSPI-RC"), []byte{})
	f.Fuzz(func(t *testing.T, content, k []byte) {
		p := filepath.Join(t.TempDir(), "rc")
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := openReplayFile(p, time.Minute, false)
		if err != nil {
			return
		}
		defer r.close()
		r.max = r.tables + 1 // bound what a store may grow
		now := time.Unix(1e9, 0)
		kk := sha256.Sum256(k)
		r.store(kk, now.Add(time.Minute), now)
		r.store(kk, now.Add(time.Minute), now)
	})
}

// TestReplayFileAlone: an LSA that holds its file alone (lsad) keeps
// every other LSA out of it, shared or not, until it closes it.
func TestReplayFileAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rc")
	a, err := openReplayFile(path, time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, shared := range []bool{false, true} {
		if f, err := openReplayFile(path, time.Minute, shared); err == nil {
			f.close()
			t.Fatalf("a second LSA (shared %v) opened a file held alone", shared)
		}
	}
	now := time.Unix(1_700_000_000, 0)
	if err := a.store(key("k"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	a.close()
	b := openTest(t, path)
	if err := b.store(key("k"), now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
		t.Fatalf("after the first LSA closed: %v", err)
	}
}

// TestReplayFileMirror: an LSA alone on the file keeps a copy of it that
// is the file byte for byte after every store, through the file's growth,
// and stops keeping it once the file outgrows replayMirrorMax (then reads
// the file, and still finds every key).
func TestReplayFileMirror(t *testing.T) {
	old := replayMirrorMax
	replayMirrorMax = tableOffset(2)
	defer func() { replayMirrorMax = old }()
	path := filepath.Join(t.TempDir(), "rc")
	r := openTestMode(t, path, false)
	now := time.Unix(1_700_000_000, 0)
	var keys [][32]byte
	for i := range 9 {
		// Two keys per bucket per table: the fifth makes a third table.
		k := key("m")
		binary.BigEndian.PutUint64(k[24:], uint64(i))
		keys = append(keys, k)
		if err := r.store(k, now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		file, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r.tables <= 2 && !bytes.Equal(r.mirror, file):
			t.Fatalf("after key %d (%d tables): the mirror differs from the file", i, r.tables)
		case r.tables > 2 && r.mirror != nil:
			t.Fatalf("after key %d: a mirror of %d tables kept, over the bound", i, r.tables)
		}
	}
	for i, k := range keys {
		if err := r.store(k, now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	// Reopened alone, within the bound again: the copy is read whole.
	r.close()
	replayMirrorMax = old
	r = openTestMode(t, path, false)
	if file, _ := os.ReadFile(path); !bytes.Equal(r.mirror, file) {
		t.Fatal("the mirror read at opening differs from the file")
	}
	for i, k := range keys {
		if err := r.store(k, now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
			t.Fatalf("key %d after reopening: %v", i, err)
		}
	}
}
