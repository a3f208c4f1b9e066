//go:build unix

package sqlite_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/sqlite"
	"github.com/opensspi/sspi/accounts/storetest"
)

// TestSQLiteFileModes checks that the database and its -wal and -shm files
// are private even under umask 0, and that an existing file readable by
// others is narrowed (with a warning).
func TestSQLiteFileModes(t *testing.T) {
	// Not parallel: the umask is per process.
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	db := filepath.Join(t.TempDir(), "sam.db")
	s := openOrFatal(t, "sqlite:"+db, create)
	if err := s.Create(t.Context(), &accounts.Account{Name: "a", Verifiers: map[string][]byte{"NTLM": {1}}}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), perm)
		}
	}
	s.Close()

	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Chmod(f, 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	s = openOrFatal(t, "sqlite:"+db, &accounts.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer s.Close()
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s left with mode %v", filepath.Base(f), fi.Mode().Perm())
		}
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("narrowing the mode logged no warning: %q", logs.String())
	}
}

// TestSQLiteRefuses checks that Open never treats a file it cannot use as
// an empty store (which would reset every lockout counter), and leaves the
// file alone.
func TestSQLiteRefuses(t *testing.T) {
	t.Parallel()
	garbage := make([]byte, 8192)
	rand.Read(garbage)
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"not a database", func(t *testing.T, path string) {
			if err := os.WriteFile(path, garbage, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a database"},
		{"another application's database", func(t *testing.T, path string) {
			rawExec(t, path, `CREATE TABLE mail (id INTEGER PRIMARY KEY, body TEXT)`)
		}, "another application"},
		{"another application id", func(t *testing.T, path string) {
			rawExec(t, path, `PRAGMA application_id = 1234`)
		}, "not an account store"},
		{"newer schema", func(t *testing.T, path string) {
			s := openOrFatal(t, "sqlite:"+path, create)
			s.Close()
			rawExec(t, path, `INSERT INTO schema_version (version, applied) VALUES (999, 0)`)
		}, "newer than this program"},
		{"corrupt header", func(t *testing.T, path string) {
			s := openOrFatal(t, "sqlite:"+path, create)
			s.Create(t.Context(), &accounts.Account{Name: "a"})
			s.Close()
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt([]byte("not the SQLite header"), 0)
			f.Close()
		}, "not a database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sam.db")
			tt.setup(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Create changes nothing here: it makes a store where
			// there is no file, never in place of one.
			for _, opts := range []*accounts.Options{nil, create} {
				s, err := accounts.Open(t.Context(), "sqlite:"+path, opts)
				if err == nil {
					s.Close()
					t.Fatalf("Open (create %t) succeeded", opts != nil)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Open (create %t) = %v, want an error about %q", opts != nil, err, tt.want)
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
					t.Errorf("the refused file was changed (create %t)", opts != nil)
				}
			}
		})
	}
}

// TestSQLiteNoCreate checks that only Options.Create makes a store: Open
// of a missing file, of a file in a missing directory or of an empty file
// fails with ErrNoStore and creates nothing; Create makes the file (never
// a directory) and says so in the log.
func TestSQLiteNoCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		filepath.Join(dir, "missing.db"),
		filepath.Join(dir, "no", "such", "dir", "a.db"),
		empty,
	} {
		s, err := accounts.Open(t.Context(), "sqlite:"+path, nil)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%s) without Create succeeded", path)
		}
		if !errors.Is(err, accounts.ErrNoStore) || !strings.Contains(err.Error(), "no account store") {
			t.Errorf("Open(%s) = %v, want ErrNoStore", path, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "empty.db" {
		t.Errorf("Open without Create left files behind: %v", entries)
	}
	if fi, _ := os.Stat(empty); fi.Size() != 0 {
		t.Errorf("Open without Create wrote %d bytes into an empty file", fi.Size())
	}

	_, err := accounts.Open(t.Context(), "sqlite:"+filepath.Join(dir, "no", "such", "dir", "a.db"), create)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Open with Create in a missing directory = %v, want an error naming the directory", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open with Create made a directory: %v", err)
	}

	var logs bytes.Buffer
	path := filepath.Join(dir, "new.db")
	s := openOrFatal(t, "sqlite:"+path, &accounts.Options{Create: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.Close()
	if !strings.Contains(logs.String(), accounts.LogStoreCreated) {
		t.Errorf("creating a store logged %q, want %q", logs.String(), accounts.LogStoreCreated)
	}
	logs.Reset()
	s = openOrFatal(t, "sqlite:"+path, &accounts.Options{Create: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.Close()
	if strings.Contains(logs.String(), accounts.LogStoreCreated) {
		t.Errorf("opening an existing store with Create logged %q", logs.String())
	}
	s = openOrFatal(t, "sqlite:"+path, nil)
	s.Close()
}

func rawExec(t *testing.T, path, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// TestSQLiteConcurrentOpen opens a new file from several goroutines (and
// so several connections) at once: one migrates, all succeed.
func TestSQLiteConcurrentOpen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sam.db")
	const n = 6
	stores := make([]accounts.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = accounts.Open(t.Context(), "sqlite:"+path, create) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var versions int
	// Each migration applied once: as many rows as the newest version.
	var newest int
	if err := db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&versions, &newest); err != nil || versions != newest {
		t.Errorf("schema_version rows = %d for version %d, %v; want one per version", versions, newest, err)
	}
}

// TestSQLitePath checks paths with the characters a file: URI gives a
// meaning to.
func TestSQLitePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "odd dir?#%20", "sam?x=1#frag%41.db")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s := openOrFatal(t, "sqlite:"+path, create)
	if err := s.Create(t.Context(), &accounts.Account{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the path given: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "odd dir?#%20"))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "sam?x=1#frag%41.db") {
			t.Errorf("stray file %q", e.Name())
		}
	}
	s = openOrFatal(t, "sqlite:"+path, nil)
	defer s.Close()
	if _, err := s.Lookup(t.Context(), "", "A"); err != nil {
		t.Errorf("reopened: %v", err)
	}
}

// create is the options that let Open make a new store.
var create = &accounts.Options{Create: true}

func openOrFatal(t *testing.T, dsn string, opts *accounts.Options) accounts.Store {
	t.Helper()
	s, err := accounts.Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, opts *accounts.Options) accounts.Store {
		return openOrFatal(t, "sqlite:"+filepath.Join(t.TempDir(), "sam.db"), opts)
	})
}

// TestShared opens the same file twice, as two processes would.
func TestShared(t *testing.T) {
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T, opts *accounts.Options) (a, b accounts.Store) {
		dsn := "sqlite:" + filepath.Join(t.TempDir(), "sam.db")
		return openOrFatal(t, dsn, opts), openOrFatal(t, dsn, opts)
	})
}
