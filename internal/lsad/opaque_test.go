package lsad

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/packages/opaque"
)

// TestOPAQUEConfig: the [opaque] section configures the OPAQUE package
// lsad loads (a registration is asked for its KSF, and the server setup
// lands in the account store), and nonsense is refused at load.
func TestOPAQUEConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		t.Helper()
		f := filepath.Join(dir, "lsad.toml")
		text := fmt.Sprintf("socket = %q\nstore = %q\ncreate_store = true\n%s", filepath.Join(dir, "lsad.sock"), "sqlite:"+filepath.Join(dir, "accounts.db"), body)
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, bad := range []string{
		"[opaque]\nksf = \"scrypt\"\n",
		"[opaque]\nksf = \"identity\"\n",
		"[opaque]\nksf = \"Argon2id(m=4096,t=1,p=1)\"\nmax_ksf_memory_kib = 1024\n",
		"[opaque]\nmax_concurrent_ksf = -1\n",
		"[opaque]\nmax_concurrent_ksf_per_caller = -1\n",
		"[opaque]\nksf_memory = 1\n",
	} {
		if _, err := LoadConfig(write(bad)); err == nil {
			t.Errorf("LoadConfig accepted %q", bad)
		}
	}
	cfg, err := LoadConfig(write("[opaque]\nksf = \"Argon2id(m=128,t=1,p=1)\"\nmax_ksf_memory_kib = 1024\nmax_concurrent_ksf = 1\nmax_concurrent_ksf_per_caller = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	d, err := Start(cfg, "", &logs)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	ctx := context.Background()
	c, err := lsarpc.Dial(ctx, d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.AddAccount(ctx, &lsa.AccountRequest{User: "alice"}); err != nil {
		t.Fatal(err)
	}
	reg, req, err := opaque.NewRegistration([]byte("alice-Passw0rd"), nil)
	if err != nil {
		t.Fatal(err)
	}
	begun, err := c.BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: opaque.Name, User: "alice", Token: req})
	if err != nil {
		t.Fatal(err)
	}
	// The response token asks for the configured KSF (doc/opaque.md:
	// version, type, then the KSF's algorithm and m).
	if r := begun.Token; len(r) < 12 || r[2] != byte(opaque.KSFArgon2id) || binary.BigEndian.Uint32(r[3:7]) != 128 {
		t.Fatalf("the registration response asks for another KSF: %x", r)
	}
	upload, err := reg.Finish(begun.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.FinishRegistration(ctx, &lsa.FinishRegistrationRequest{Registration: begun.Registration, Token: upload}); err != nil {
		t.Fatal(err)
	}
	store := d.Engine().Accounts()
	if setup, err := store.Secret(ctx, opaque.Name, "opaque-server-setup"); err != nil || len(setup) != opaque.ServerSetupSize {
		t.Fatalf("the server setup in the account store: %d bytes, %v", len(setup), err)
	}
	a, err := store.Lookup(ctx, d.Engine().Parameters().DomainName, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Verifiers) != 1 || len(a.Verifiers[opaque.Name]) == 0 {
		t.Fatalf("alice's verifiers: %v", a)
	}
}
