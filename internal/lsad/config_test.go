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
	"time"

	"github.com/BurntSushi/toml"
	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa/lsarpc"
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

// TestServerLimits checks the protocol limits lsad derives from its
// configuration and its open-file limit: the defaults are sane (the
// connections fit the descriptors with room for the rest, a uid cannot
// take them all, the reserve remains, a frame fits the byte budget), the
// keys reach the server, and nonsense is refused.
func TestServerLimits(t *testing.T) {
	parse := func(t *testing.T, limits string) *Config {
		t.Helper()
		var cfg Config
		if _, err := toml.Decode("[limits]\n"+limits, &cfg); err != nil {
			t.Fatal(err)
		}
		return &cfg
	}
	for _, nofile := range []uint64{0, 1024, 20000, 1 << 20} {
		l, err := parse(t, "").serverLimits(nofile)
		if err != nil {
			t.Fatal(err)
		}
		if l.MaxConns > lsarpc.DefaultMaxConns || nofile > 0 && uint64(l.MaxConns) > nofile-fdMargin {
			t.Errorf("nofile %d: max_connections %d", nofile, l.MaxConns)
		}
		// The server fills in the rest (lsarpc.Limits' zero values).
		if l.MaxConnsPerUID != 0 || l.MaxBytesPerUID != 0 || l.IdleTimeout != 0 {
			t.Errorf("nofile %d: defaults not left to the server: %+v", nofile, l)
		}
	}
	if lsarpc.DefaultMaxConnsPerUID >= lsarpc.DefaultMaxConns-lsarpc.DefaultReservedConns || lsarpc.DefaultMaxBytesPerUID < 2*lsarpc.MaxFrame ||
		lsarpc.DefaultMaxCallsPerUID < lsarpc.DefaultMaxCallsPerConn || lsarpc.DefaultFrameTimeout > lsarpc.DefaultIdleTimeout {
		t.Error("the protocol's defaults contradict each other")
	}

	l, err := parse(t, `max_connections = 100
reserved_connections = 10
max_connections_per_uid = 20
max_calls_per_connection = 8
max_calls_per_uid = 16
max_buffered_bytes_per_uid = 4194304
hello_timeout = "3s"
frame_timeout = "2s"
idle_timeout = "1m"
reply_timeout = "5s"
call_timeout = "30s"`).serverLimits(1024)
	want := lsarpc.Limits{MaxConns: 100, ReservedConns: 10, MaxConnsPerUID: 20, MaxCallsPerConn: 8, MaxCallsPerUID: 16, MaxBytesPerUID: 4 << 20,
		HelloTimeout: 3 * time.Second, FrameTimeout: 2 * time.Second, IdleTimeout: time.Minute, WriteTimeout: 5 * time.Second, CallTimeout: 30 * time.Second}
	if err != nil || l != want {
		t.Fatalf("limits %+v, %v; want %+v", l, err, want)
	}
	if l, _ := parse(t, "max_connections = 100000").serverLimits(1024); l.MaxConns != 1024-fdMargin {
		t.Errorf("max_connections over the open-file limit: %d", l.MaxConns)
	}
	for _, bad := range []string{"max_buffered_bytes_per_uid = 1000", "max_connections_per_uid = -1", "max_connections = 50\nreserved_connections = 50"} {
		if _, err := parse(t, bad).serverLimits(1024); err == nil || !strings.HasPrefix(err.Error(), "lsad: config:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestNegotiateConfig: [negotiate] packages reaches the engine as a
// configured Negotiate, and an empty section leaves the registered one.
func TestNegotiateConfig(t *testing.T) {
	var cfg Config
	if _, err := toml.Decode("[negotiate]\npackages = [\"NTLM\"]\n", &cfg); err != nil {
		t.Fatal(err)
	}
	ec, err := cfg.engineConfig()
	if err != nil {
		t.Fatal(err)
	}
	if ec.Configured["Negotiate"] == nil {
		t.Fatalf("configured packages %v", ec.Configured)
	}
	var legacy Config
	if _, err := toml.Decode("[negotiate]\nlegacy_kerberos_oid = true\n", &legacy); err != nil {
		t.Fatal(err)
	}
	if ec, err := legacy.engineConfig(); err != nil || ec.Configured["Negotiate"] == nil {
		t.Fatalf("legacy_kerberos_oid: %v, %v", ec, err)
	}
	var empty Config
	if ec, err := empty.engineConfig(); err != nil || ec.Configured["Negotiate"] != nil {
		t.Fatalf("empty [negotiate]: %v, %v", ec.Configured, err)
	}
}
