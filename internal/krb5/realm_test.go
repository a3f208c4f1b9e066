package krb5

import (
	"context"
	"os"
	"testing"
	"time"
)

// liveRealm is the MIT realm of scripts/dev-realm.sh, described by the
// SSPI_KRB5_* variables that `dev-realm.sh env` prints.
type liveRealm struct {
	Realm, KDC, Config               string
	User, Password, User2, Password2 string
	NoPreauthUser, NoPreauthPass     string
	SaltedUser, SaltedPass           string
	ServiceKeytab, UserKeytab        string
	Service, HTTPService             string
	DelegateService                  string
	OtherRealm, ReferralService      string
	Dir                              string
}

// realm returns the live realm, or skips the test when there is none
// (and fails it when SSPI_INTEROP_REQUIRED=1, as scripts/test.sh sets).
func realm(t testing.TB) *liveRealm {
	t.Helper()
	r := &liveRealm{
		Realm: os.Getenv("SSPI_KRB5_REALM"), KDC: os.Getenv("SSPI_KRB5_KDC"), Config: os.Getenv("KRB5_CONFIG"),
		User: os.Getenv("SSPI_KRB5_USER"), Password: os.Getenv("SSPI_KRB5_PASSWORD"),
		User2: os.Getenv("SSPI_KRB5_USER2"), Password2: os.Getenv("SSPI_KRB5_PASSWORD2"),
		NoPreauthUser: os.Getenv("SSPI_KRB5_NOPREAUTH_USER"), NoPreauthPass: os.Getenv("SSPI_KRB5_NOPREAUTH_PASSWORD"),
		SaltedUser: os.Getenv("SSPI_KRB5_SALTED_USER"), SaltedPass: os.Getenv("SSPI_KRB5_SALTED_PASSWORD"),
		ServiceKeytab: os.Getenv("SSPI_KRB5_SERVICE_KEYTAB"), UserKeytab: os.Getenv("SSPI_KRB5_USER_KEYTAB"),
		Service: os.Getenv("SSPI_KRB5_SERVICE"), HTTPService: os.Getenv("SSPI_KRB5_HTTP_SERVICE"),
		DelegateService: os.Getenv("SSPI_KRB5_DELEGATE_SERVICE"),
		OtherRealm:      os.Getenv("SSPI_KRB5_OTHER_REALM"), ReferralService: os.Getenv("SSPI_KRB5_REFERRAL_SERVICE"),
		Dir: os.Getenv("SSPI_KRB5_DIR"),
	}
	if r.Realm == "" || r.KDC == "" || r.Config == "" || r.ServiceKeytab == "" {
		if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
			t.Fatal("no Kerberos realm: run eval \"$(scripts/dev-realm.sh up)\" (SSPI_INTEROP_REQUIRED=1)")
		}
		t.Skip("no Kerberos realm: run eval \"$(scripts/dev-realm.sh up)\" to run this test")
	}
	return r
}

func (r *liveRealm) config(t testing.TB) *Config {
	t.Helper()
	cfg, err := LoadConfig(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (r *liveRealm) client(t testing.TB) *Client {
	return &Client{Config: r.config(t)}
}

func (r *liveRealm) principal(t testing.TB, name string) Principal {
	t.Helper()
	p, err := r.config(t).Principal(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (r *liveRealm) serviceKeytab(t testing.TB) *Keytab {
	t.Helper()
	return readKeytab(t, r.ServiceKeytab)
}

func readKeytab(t testing.TB, path string) *Keytab {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := ParseKeytab(b)
	if err != nil {
		t.Fatal(err)
	}
	return kt
}

// tgt logs alice in with her password.
func (r *liveRealm) tgt(t testing.TB) *Credential {
	t.Helper()
	cred, err := r.client(t).GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// serviceTicket returns alice's ticket for a service name like
// host@localhost.
func (r *liveRealm) serviceTicket(t testing.TB, tgt *Credential, name string) *Credential {
	t.Helper()
	c := r.client(t)
	sp, err := c.Config.ServicePrincipal(name)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := c.GetServiceTicket(testContext(t), tgt, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// testContext bounds a test's KDC exchanges; the bound is generous (it
// only keeps a broken KDC from hanging the suite).
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
