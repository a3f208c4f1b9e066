package kerberos_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// TestLogonUser: `sspi logon alice@REALM` in both modes: the AS exchange
// from the LSA puts a TGT in a new logon session of the caller; default
// credentials then use it (the service ticket joins the session's
// cache); the session lists its tickets as klist does, without keys; a
// wrong password makes no session; logoff ends the session and its
// credentials.
func TestLogonUser(t *testing.T) {
	r := liveRealm(t)
	// Without a process ccache or client keytab, default credentials can
	// only come from a logon session.
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "none"))
	none := func(kc *kerberos.Config, _ *engine.Config) { kc.ClientKeytab = filepath.Join(t.TempDir(), "none") }
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			e := newEngine(t, r, none)
			conn := mode.Harness(t, e).Connect(t)
			p := sspi.NewProvider(conn, nil)
			defer p.Close()
			ctx := context.Background()

			if _, err := p.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialOutbound, nil); !errors.Is(err, sspi.StatusNoCredentials) {
				t.Fatalf("default credentials before logon: %v, want SEC_E_NO_CREDENTIALS", err)
			}
			_, err := conn.LogonUser(ctx, &lsa.LogonUserRequest{Package: kerberos.Name, Identity: secpkg.AuthIdentity{User: r.User + "@" + r.Realm, Password: []byte("wrong")}})
			if !errors.Is(err, sspi.StatusLogonDenied) {
				t.Fatalf("logon with a wrong password: %v, want SEC_E_LOGON_DENIED", err)
			}
			if list, _ := conn.LogonSessions(ctx); len(list) != 0 {
				t.Fatalf("a failed logon left sessions: %+v", list)
			}
			info, err := conn.LogonUser(ctx, &lsa.LogonUserRequest{Package: kerberos.Name, Identity: secpkg.AuthIdentity{User: r.User + "@" + r.Realm, Password: []byte(r.Password)}})
			if err != nil {
				t.Fatal(err)
			}
			if info.User != r.User || info.Domain != r.Realm || info.Package != kerberos.Name || info.Network {
				t.Fatalf("logon session %+v", info)
			}

			cc, err := p.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialOutbound, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Free()
			if cc.Name() != r.User+"@"+r.Realm {
				t.Fatalf("default credentials of %q", cc.Name())
			}
			c, s := pair(t, cc, acceptor(t, p, spn(r.Service)), r.Service, allFlags, nil)
			if err := handshake(bg(t), c, s); err != nil {
				t.Fatal(err)
			}

			// klist: the TGT, then the service ticket; no key anywhere.
			list, err := conn.LogonSessions(ctx)
			if err != nil || len(list) != 1 {
				t.Fatalf("sessions %+v, %v", list, err)
			}
			creds := list[0].Credentials
			if len(creds) != 2 {
				t.Fatalf("credentials %+v", creds)
			}
			tgt, svc := creds[0], creds[1]
			if tgt.Server != "krbtgt/"+r.Realm+"@"+r.Realm || tgt.Client != r.User+"@"+r.Realm || tgt.Package != kerberos.Name ||
				!strings.Contains(tgt.Flags, "I") || !strings.Contains(tgt.Flags, "F") || tgt.EType == "" || tgt.End.IsZero() {
				t.Fatalf("TGT %+v", tgt)
			}
			if svc.Server != spn(r.Service)+"@"+r.Realm || svc.EType == "" || svc.TicketEType == "" || !svc.Start.Before(svc.End) {
				t.Fatalf("service ticket %+v", svc)
			}

			// Logoff: the session and what it held are gone; credentials
			// acquired from it no longer initiate.
			if err := conn.Logoff(ctx, info.LogonID); err != nil {
				t.Fatal(err)
			}
			if list, _ := conn.LogonSessions(ctx); len(list) != 0 {
				t.Fatalf("sessions after logoff: %+v", list)
			}
			c2, _ := pair(t, cc, acceptor(t, p, spn(r.Service)), r.Service, allFlags, nil)
			if _, _, err := c2.Initialize(ctx, nil); !errors.Is(err, sspi.StatusNoCredentials) {
				t.Fatalf("credentials of an ended logon session: %v, want SEC_E_NO_CREDENTIALS", err)
			}
		})
	}
}

// TestLogonNewCredentials: `sspi logon --netonly`: the logon checks
// nothing; the KDC checks the password at the first use of the session's
// default credentials, and the TGT it gives stays in the session.
func TestLogonNewCredentials(t *testing.T) {
	r := liveRealm(t)
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) { testLogonNewCredentials(t, r, mode.Harness(t, newEngine(t, r, nil)).Connect(t)) })
	}
}

func testLogonNewCredentials(t *testing.T, r *realm, conn lsa.Conn) {
	ctx := context.Background()
	p := sspi.NewProvider(conn, nil)
	defer p.Close()
	for _, tc := range []struct {
		password string
		ok       bool
	}{{"wrong-" + r.Password, false}, {r.Password, true}} {
		info, err := conn.LogonUser(ctx, &lsa.LogonUserRequest{Package: kerberos.Name, Type: secpkg.LogonNewCredentials,
			Identity: secpkg.AuthIdentity{User: r.User, Domain: r.Realm, Password: []byte(tc.password)}})
		if err != nil {
			t.Fatalf("netonly logon (password ok %v): %v", tc.ok, err)
		}
		cred, err := p.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{LogonID: info.LogonID})
		if err != nil {
			t.Fatal(err)
		}
		c, s := pair(t, cred, acceptor(t, p, spn(r.Service)), r.Service, allFlags, nil)
		err = handshake(bg(t), c, s)
		if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, sspi.StatusLogonDenied)) {
			t.Fatalf("netonly logon (password ok %v): first use: %v", tc.ok, err)
		}
		if tc.ok {
			list, _ := conn.LogonSessions(ctx)
			for _, ls := range list {
				if ls.LogonID == info.LogonID && (len(ls.Credentials) != 2 || !strings.HasPrefix(ls.Credentials[0].Server, "krbtgt/")) {
					t.Fatalf("session after first use: %+v", ls)
				}
			}
		}
		cred.Free()
		conn.Logoff(ctx, info.LogonID)
	}
}
