package embedded_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	_ "github.com/opensspi/sspi/accounts/sqlite" // the sqlite: store
	"github.com/opensspi/sspi/embedded"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	_ "github.com/opensspi/sspi/packages/all"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// handshake runs an NTLM handshake as alice on p and returns the server's
// identity.
func handshake(t *testing.T, p *sspi.Provider) *sspi.Identity {
	t.Helper()
	ctx := context.Background()
	id := &sspi.AuthIdentity{User: "alice", Domain: ".", Password: []byte("alice-Passw0rd")}
	cc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Free()
	sc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: "HOST/localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Free()
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: "HOST/localhost"})
	s := sspi.NewServerContext(sc, nil)
	defer c.Delete()
	defer s.Delete()
	var in []byte
	for {
		out, st, err := c.Initialize(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) == 0 && st == sspi.StatusOK {
			break
		}
		back, sst, err := s.Accept(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if sst == sspi.StatusOK && st == sspi.StatusOK {
			break
		}
		in = back
	}
	ident, err := s.Identity()
	if err != nil {
		t.Fatal(err)
	}
	return ident
}

// TestOpenLSAEmbedded opens the embedded LSA the way sspi.Default and the
// CLI do, administers an account through it and authenticates.
func TestOpenLSAEmbedded(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	conn, err := sspi.OpenLSA(ctx, sspi.LSAConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	admin, ok := conn.(lsa.Admin)
	if !ok {
		t.Fatalf("embedded connection %T is not an lsa.Admin", conn)
	}
	if err := admin.AddAccount(ctx, &lsa.AccountRequest{User: "alice", Password: []byte("alice-Passw0rd")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := conn.(lsa.Monitor); !ok {
		t.Fatalf("embedded connection %T is not an lsa.Monitor", conn)
	}
	p := sspi.NewProvider(conn, nil)
	if id := handshake(t, p); id.User != "alice" {
		t.Fatalf("identity %v", id)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing the provider stopped the engine and closed the store: a
	// second LSA on the same file sees the account.
	conn, err = sspi.OpenLSA(ctx, sspi.LSAConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	list, err := conn.(lsa.Admin).ListAccounts(ctx)
	if err != nil || len(list) != 1 || list[0].User != "alice" {
		t.Fatalf("accounts after reopening: %v, %v", list, err)
	}
}

// newStore creates an empty SQLite account store and returns its data
// source name.
func newStore(t *testing.T) string {
	t.Helper()
	store := "sqlite:" + filepath.Join(t.TempDir(), "accounts.db")
	s, err := accounts.Open(context.Background(), store, &accounts.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return store
}

// TestOpenLSANoCreate: sspi.OpenLSA (and so sspi.Default with
// SSPI_STORE) never creates a store: a mistyped name is an error, and
// leaves nothing behind.
func TestOpenLSANoCreate(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "acounts.db"), filepath.Join(dir, "no", "such", "dir", "a.db")} {
		conn, err := sspi.OpenLSA(context.Background(), sspi.LSAConfig{Store: "sqlite:" + path})
		if err == nil {
			conn.Close()
			t.Fatalf("OpenLSA of the missing store %s succeeded", path)
		}
		if !errors.Is(err, accounts.ErrNoStore) {
			t.Errorf("OpenLSA(%s) = %v, want accounts.ErrNoStore", path, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("OpenLSA left %v behind", entries)
	}
}

// TestOpenLSASocket opens lsad's protocol on a socket: Socket wins over
// Store.
func TestOpenLSASocket(t *testing.T) {
	ctx := context.Background()
	p0, e, err := embedded.NewProvider(&engine.Config{Packages: []string{"NTLM"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p0.Close()
	sock := secpkgtest.ServeEngine(t, e)
	conn, err := sspi.OpenLSA(ctx, sspi.LSAConfig{Socket: sock, Store: "memory:"})
	if err != nil {
		t.Fatal(err)
	}
	p := sspi.NewProvider(conn, nil)
	defer p.Close()
	pkgs, err := p.Packages(ctx)
	if err != nil || len(pkgs) != 1 || pkgs[0].Name != "NTLM" {
		t.Fatalf("packages through the socket: %v, %v", pkgs, err)
	}
	if _, err := sspi.OpenLSA(ctx, sspi.LSAConfig{Socket: filepath.Join(t.TempDir(), "none.sock")}); err == nil {
		t.Fatal("dialing a missing socket succeeded")
	}
}

func TestLSAConfigFromEnv(t *testing.T) {
	t.Setenv("SSPI_LSA", "/run/x.sock")
	t.Setenv("SSPI_STORE", "memory:")
	if got := sspi.LSAConfigFromEnv(); got != (sspi.LSAConfig{Socket: "/run/x.sock", Store: "memory:"}) {
		t.Fatalf("LSAConfigFromEnv = %+v", got)
	}
}

// TestDefault runs sspi.Default in a child process (it is created once
// per process) with SSPI_STORE naming a store that holds alice.
func TestDefault(t *testing.T) {
	if os.Getenv("EMBEDDED_TEST_DEFAULT") == "1" {
		p, err := sspi.Default()
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := sspi.Default(); again != p {
			t.Fatal("Default returned two providers")
		}
		if id := handshake(t, p); id.User != "alice" {
			t.Fatalf("identity %v", id)
		}
		return
	}
	ctx := context.Background()
	store := newStore(t)
	conn, err := sspi.OpenLSA(ctx, sspi.LSAConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.(lsa.Admin).AddAccount(ctx, &lsa.AccountRequest{User: "alice", Password: []byte("alice-Passw0rd")}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDefault$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EMBEDDED_TEST_DEFAULT=1", "SSPI_LSA=", "SSPI_STORE="+store)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestOpenLSAWithoutEmbedded builds a program that does not import this
// package: with no lsad configured it is told how to get an LSA, and
// links no engine.
func TestOpenLSAWithoutEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	cmd := exec.Command("go", "run", "./testdata/noembedded")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "SSPI_LSA=", "SSPI_STORE=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	if _, statErr := os.Stat(sspi.DefaultLSASocket); statErr == nil {
		t.Skipf("%s exists on this machine", sspi.DefaultLSASocket)
	}
	if !strings.Contains(string(out), "import github.com/opensspi/sspi/embedded") || !strings.Contains(string(out), "SSPI_LSA") {
		t.Fatalf("the program was not told how to get an LSA:\n%s", out)
	}
}

// TestReplayCacheFromEnv: SSPI_REPLAY_CACHE makes the embedded LSA keep
// its replay cache in that file, shared with the other embedded LSAs that
// name it (two open at once).
func TestReplayCacheFromEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replay.cache")
	t.Setenv("SSPI_REPLAY_CACHE", path)
	var conns []lsa.Conn
	for i := 0; i < 2; i++ {
		cfg, err := embedded.Config(context.Background(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ReplayCacheFile != path || !cfg.ReplayCacheShared {
			t.Fatalf("Config: ReplayCacheFile %q, shared %v", cfg.ReplayCacheFile, cfg.ReplayCacheShared)
		}
		c, err := embedded.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("replay cache file: %v, %v", fi, err)
	}
}
