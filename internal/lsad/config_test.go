package lsad

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
	_ "github.com/opensspi/sspi/packages/all"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// TestStoreCreation: lsad creates its store only with create_store; a
// missing store otherwise stops it with an error that says what to do,
// and leaves nothing behind.
func TestStoreCreation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.db")
	cfg := &Config{Socket: filepath.Join(dir, "lsad.sock"), Store: "sqlite:" + path}
	var logs bytes.Buffer
	d, err := Start(cfg, "", &logs)
	if err == nil {
		d.Stop()
		t.Fatal("lsad started on a missing store without create_store")
	}
	if !strings.Contains(err.Error(), "no account store") || !strings.Contains(err.Error(), "create_store") {
		t.Errorf("error %q does not say what is missing and how to create it", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the refused start left a store: %v", err)
	}
	cfg.CreateStore = true
	if d, err = Start(cfg, "", &logs); err != nil {
		t.Fatal(err)
	}
	d.Stop()
	if !strings.Contains(logs.String(), "accounts: created the account store") {
		t.Errorf("lsad did not log that it created the store:\n%s", logs.String())
	}
	cfg.CreateStore = false
	if d, err = Start(cfg, "", &logs); err != nil {
		t.Fatalf("lsad does not start on the store it created: %v", err)
	}
	d.Stop()
}

// TestNTLMConfig: the [ntlm] section configures the NTLM package lsad
// loads. channel_bindings = "required" on an acceptor that supplies no
// bindings refuses every client (SEC_E_BAD_BINDINGS), which shows the
// setting reached the package; a bad value is refused at load.
func TestNTLMConfig(t *testing.T) {
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
		"[ntlm]\nchannel_bindings = \"always\"\n",
		"[ntlm]\ntarget_name = \"yes\"\n",
		"[ntlm]\nrequire_mic = \"yes\"\n",
		"[ntlm]\nchallenge_lifetime = \"-1m\"\n",
		"[ntlm]\nrequire_mac = true\n",
	} {
		if _, err := LoadConfig(write(bad)); err == nil {
			t.Errorf("LoadConfig accepted %q", bad)
		}
	}
	handshake := func(body string) error {
		t.Helper()
		cfg, err := LoadConfig(write(body))
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
		if err := d.Engine().SetPassword(ctx, "", "alice", []byte("alice-Passw0rd")); err != nil {
			t.Fatal(err)
		}
		conn, err := sspi.OpenLSA(ctx, sspi.LSAConfig{Socket: d.Addr()})
		if err != nil {
			t.Fatal(err)
		}
		p := sspi.NewProvider(conn, nil)
		defer p.Close()
		cc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, &sspi.CredentialsOptions{
			Identity: &sspi.AuthIdentity{User: "alice", Password: []byte("alice-Passw0rd")}})
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Free()
		sc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: "HOST/test"})
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Free()
		c, s := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: "HOST/test"}), sspi.NewServerContext(sc, nil)
		defer c.Delete()
		defer s.Delete()
		return secpkgtest.Handshake(ctx, c, s)
	}
	if err := handshake(""); err != nil {
		t.Fatalf("handshake with the defaults: %v", err)
	}
	if err := handshake("[ntlm]\nchannel_bindings = \"required\"\nrequire_mic = true\n"); !errors.Is(err, sspi.StatusBadBindings) {
		t.Fatalf("handshake with channel_bindings = \"required\" and no bindings: %v, want SEC_E_BAD_BINDINGS", err)
	}
}
