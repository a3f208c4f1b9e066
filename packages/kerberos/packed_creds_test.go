package kerberos_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/secpkg"
)

// mitCCache gets alice a TGT with MIT's kinit into a FILE ccache and
// returns its path.
func mitCCache(t *testing.T, r *realm) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ccache")
	cmd := exec.Command("kinit", "-c", "FILE:"+path, r.User+"@"+r.Realm)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+r.Config)
	cmd.Stdin = strings.NewReader(r.Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v: %s", err, out)
	}
	return path
}

// TestPackedCredentials: outbound credentials from what a caller passes
// instead of a password, in both modes: the bytes of an MIT credentials
// cache made by kinit (its TGT), of alice's keytab (the AS exchange with
// its keys), or their paths (read by the LSA with the caller's rights);
// and a logon that imports the ccache's TGT into a logon session.
func TestPackedCredentials(t *testing.T) {
	r := liveRealm(t)
	if r.UserKeytab == "" {
		t.Fatal("SSPI_KRB5_USER_KEYTAB unset")
	}
	ccPath := mitCCache(t, r)
	cc, err := os.ReadFile(ccPath)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := os.ReadFile(r.UserKeytab)
	if err != nil {
		t.Fatal(err)
	}
	forEachMode(t, r, nil, func(t *testing.T, p *sspi.Provider, e *engine.Engine) {
		ctx := context.Background()
		for _, tc := range []struct {
			name   string
			packed *sspi.PackedCredentials
		}{
			{"ccache", &sspi.PackedCredentials{Type: sspi.PackedCCache, Data: cc}},
			{"keytab", &sspi.PackedCredentials{Type: sspi.PackedKeytab, Data: kt}},
			{"ccache-file", &sspi.PackedCredentials{Type: sspi.PackedCCacheFile, Data: []byte("FILE:" + ccPath)}},
			{"keytab-file", &sspi.PackedCredentials{Type: sspi.PackedKeytabFile, Data: []byte(r.UserKeytab)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cred, err := p.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialOutbound,
					&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{Packed: tc.packed}})
				if err != nil {
					t.Fatal(err)
				}
				defer cred.Free()
				if cred.Name() != r.User+"@"+r.Realm {
					t.Fatalf("credentials of %q", cred.Name())
				}
				c, s := pair(t, cred, acceptor(t, p, spn(r.Service)), r.Service, allFlags, nil)
				if err := handshake(bg(t), c, s); err != nil {
					t.Fatal(err)
				}
				if id, _ := s.Identity(); id.User != r.User {
					t.Fatalf("identity %v", id)
				}
			})
		}
		// Wrong data: refused when the credentials are acquired.
		for _, bad := range []*sspi.PackedCredentials{
			{Type: sspi.PackedCCache, Data: kt},
			{Type: sspi.PackedKeytab, Data: []byte("not a keytab")},
			{Type: sspi.PackedCCacheFile, Data: []byte(filepath.Join(t.TempDir(), "missing"))},
			{Type: "password-hash", Data: []byte("x")},
		} {
			if _, err := p.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialOutbound,
				&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{Packed: bad}}); err == nil {
				t.Fatalf("%v accepted", bad)
			}
		}
	})
}

// TestLogonUserCCache: `sspi logon --ccache`: the TGT of a ccache the
// caller passes goes into a new logon session, for default credentials.
func TestLogonUserCCache(t *testing.T) {
	r := liveRealm(t)
	cc, err := os.ReadFile(mitCCache(t, r))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, r, nil)
	conn := e.Connect(engine.CurrentProcess())
	p := sspi.NewProvider(conn, nil)
	defer p.Close()
	ctx := context.Background()
	info, err := conn.LogonUser(ctx, &lsa.LogonUserRequest{Package: kerberos.Name,
		Identity: secpkg.AuthIdentity{Packed: &secpkg.PackedCredentials{Type: sspi.PackedCCache, Data: cc}}})
	if err != nil {
		t.Fatal(err)
	}
	if info.User != r.User || info.Domain != r.Realm {
		t.Fatalf("logon session %+v", info)
	}
	cred, err := p.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{LogonID: info.LogonID})
	if err != nil {
		t.Fatal(err)
	}
	defer cred.Free()
	c, s := pair(t, cred, acceptor(t, p, spn(r.Service)), r.Service, allFlags, nil)
	if err := handshake(bg(t), c, s); err != nil {
		t.Fatal(err)
	}
	if err := conn.Logoff(ctx, info.LogonID); err != nil {
		t.Fatal(err)
	}
	c2, _ := pair(t, cred, acceptor(t, p, spn(r.Service)), r.Service, allFlags, nil)
	if _, _, err := c2.Initialize(ctx, nil); !errors.Is(err, sspi.StatusNoCredentials) {
		t.Fatalf("after logoff: %v", err)
	}
}
