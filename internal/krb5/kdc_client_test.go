package krb5

import (
	"errors"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

func TestASPasswordEachEType(t *testing.T) {
	r := realm(t)
	c := r.client(t)
	alice := r.principal(t, r.User)
	for _, e := range DefaultETypes {
		t.Run(e.String(), func(t *testing.T) {
			cred, err := c.GetInitialCredentialsPassword(testContext(t), alice, r.Password, &ASOptions{ETypes: []EType{e}})
			if err != nil {
				t.Fatal(err)
			}
			if cred.SessionKey.EType() != e {
				t.Errorf("session key %v, want %v", cred.SessionKey.EType(), e)
			}
			tkt, err := parseTicket(cred.Ticket)
			if err != nil {
				t.Fatal(err)
			}
			if !cred.Client.Equal(alice) || !cred.Server.Equal(TGSPrincipal(r.Realm, r.Realm)) || !tkt.SName.Equal(cred.Server) {
				t.Errorf("credential %v, ticket for %v", cred, tkt.SName)
			}
			if !cred.Flags.Has(FlagInitial|FlagPreAuthent|FlagForwardable) || !cred.ValidAt(time.Now(), 0) {
				t.Errorf("credential %v, flags %v", cred, cred.Flags)
			}
		})
	}
}

func TestASWrongPasswordAndUnknownUser(t *testing.T) {
	r := realm(t)
	c := r.client(t)
	_, err1 := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), "wrong-"+r.Password, nil)
	_, err2 := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, "nobody-here"), r.Password, nil)
	if !errors.Is(err1, KDCErrPreauthFailed) {
		t.Errorf("wrong password: %v, want KDC_ERR_PREAUTH_FAILED", err1)
	}
	if !errors.Is(err2, KDCErrCPrincipalUnknown) {
		t.Errorf("unknown user: %v, want KDC_ERR_C_PRINCIPAL_UNKNOWN", err2)
	}
	for _, err := range []error{err1, err2} {
		if secpkg.StatusOf(err) != secpkg.StatusLogonDenied {
			t.Errorf("%v: status %v", err, secpkg.StatusOf(err))
		}
	}
	// The caller sees one message for both.
	if err1.Error() != err2.Error() {
		t.Errorf("messages differ: %q and %q", err1, err2)
	}
}

func TestASKeytab(t *testing.T) {
	r := realm(t)
	kt := readKeytab(t, r.UserKeytab)
	cred, err := r.client(t).GetInitialCredentialsKeytab(testContext(t), r.principal(t, r.User), kt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cred.Server.IsTGS() {
		t.Fatalf("got %v", cred)
	}
}

func TestTGSServiceTicket(t *testing.T) {
	r := realm(t)
	tgt := r.tgt(t)
	for _, name := range []string{r.Service, r.HTTPService, "host/localhost", "host/localhost@" + r.Realm} {
		t.Run(name, func(t *testing.T) {
			cred := r.serviceTicket(t, tgt, name)
			want := HostBasedService("host", "localhost", r.Realm)
			if name == r.HTTPService {
				want = HostBasedService("HTTP", "localhost", r.Realm)
			}
			if !cred.Server.Equal(want) || !cred.Client.Equal(tgt.Client) {
				t.Errorf("got %v, want %v", cred, want)
			}
		})
	}
}

func TestTGSUnknownService(t *testing.T) {
	r := realm(t)
	tgt := r.tgt(t)
	_, err := r.client(t).GetServiceTicket(testContext(t), tgt, HostBasedService("nosuch", "localhost", r.Realm), nil)
	if !errors.Is(err, KDCErrSPrincipalUnknown) || secpkg.StatusOf(err) != secpkg.StatusTargetUnknown {
		t.Fatalf("got %v", err)
	}
}

func TestTGSReferral(t *testing.T) {
	r := realm(t)
	tgt := r.tgt(t)
	cred := r.serviceTicket(t, tgt, r.ReferralService)
	want := HostBasedService("host", "svc.other.test", r.OtherRealm)
	if !cred.Server.Equal(want) {
		t.Fatalf("got %v, want %v", cred, want)
	}
	// With the realm named, the client asks for the cross-realm TGT.
	cred, err := r.client(t).GetServiceTicket(testContext(t), tgt, want, nil)
	if err != nil || !cred.Server.Equal(want) {
		t.Fatalf("got %v, %v", cred, err)
	}
}

func TestForwardedTGT(t *testing.T) {
	r := realm(t)
	tgt := r.tgt(t)
	fwd, err := r.client(t).GetForwardedTGT(testContext(t), tgt)
	if err != nil {
		t.Fatal(err)
	}
	if !fwd.Flags.Has(FlagForwarded) || fwd.SessionKey.Equal(tgt.SessionKey) {
		t.Fatalf("got %v", fwd)
	}
	// The forwarded TGT works.
	r.serviceTicket(t, fwd, r.Service)
}
