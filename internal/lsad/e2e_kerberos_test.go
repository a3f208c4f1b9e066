package lsad_test

// Kerberos through a real lsad: the [kerberos] section and the replay
// cache file, against the MIT realm of scripts/dev-realm.sh.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
)

// krbRealm is the realm's environment (`scripts/dev-realm.sh env`).
type krbRealm struct {
	realm, config, keytab, user, password, service string
}

// requireKrbRealm returns the realm, or skips without one (fails under
// SSPI_INTEROP_REQUIRED=1).
func requireKrbRealm(t *testing.T) *krbRealm {
	t.Helper()
	r := &krbRealm{
		realm: os.Getenv("SSPI_KRB5_REALM"), config: os.Getenv("KRB5_CONFIG"), keytab: os.Getenv("SSPI_KRB5_SERVICE_KEYTAB"),
		user: os.Getenv("SSPI_KRB5_USER"), password: os.Getenv("SSPI_KRB5_PASSWORD"), service: os.Getenv("SSPI_KRB5_SERVICE"),
	}
	if r.realm == "" || r.config == "" || r.keytab == "" || r.user == "" || r.service == "" {
		if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
			t.Fatal("no Kerberos realm: run eval \"$(scripts/dev-realm.sh up)\" (SSPI_INTEROP_REQUIRED=1)")
		}
		t.Skip("no Kerberos realm: run eval \"$(scripts/dev-realm.sh up)\" to run this test")
	}
	return r
}

// kerberosSection is lsad.toml's [kerberos] for the realm.
func (r *krbRealm) kerberosSection() string {
	return fmt.Sprintf("[kerberos]\nkrb5_conf = [%q]\nkeytabs = [%q]\n", r.config, r.keytab)
}

// apReq returns a fresh AP-REQ of the realm's user for the realm's
// service, made through p, and the server credentials to accept it.
func (r *krbRealm) apReq(t *testing.T, p *sspi.Provider) []byte {
	t.Helper()
	ctx := context.Background()
	cc, err := p.AcquireCredentials(ctx, "Kerberos", sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: r.user, Domain: r.realm, Password: []byte(r.password)}})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Free()
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: r.service, Flags: e2eFlags | sspi.ISCReqMutualAuth})
	defer c.Delete()
	tok, _, err := c.Initialize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// accept accepts tok as the realm's service through p.
func (r *krbRealm) accept(t *testing.T, p *sspi.Provider, tok []byte) error {
	t.Helper()
	sc, err := p.AcquireCredentials(context.Background(), "Kerberos", sspi.CredentialInbound,
		&sspi.CredentialsOptions{Principal: strings.Replace(r.service, "@", "/", 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Free()
	s := sspi.NewServerContext(sc, nil)
	defer s.Delete()
	_, _, err = s.Accept(context.Background(), tok)
	return err
}

// TestE2EKerberosReplayAfterKill: lsad accepts an AP-REQ, is killed with
// SIGKILL and restarted; the same AP-REQ, replayed within the clock
// skew, is refused (KRB_AP_ERR_REPEAT) because the replay cache is a
// file that outlived the process (RFC 4120 3.2.3). Without the file the
// replay would pass: the control shows that the test can fail.
func TestE2EKerberosReplayAfterKill(t *testing.T) {
	r := requireKrbRealm(t)
	for _, persistent := range []bool{true, false} {
		t.Run(fmt.Sprintf("replay_cache=%v", persistent), func(t *testing.T) {
			o := daemonOpts{sections: r.kerberosSection()}
			d := startDaemon(t, "krb-replay", o)
			if persistent {
				o.top = fmt.Sprintf("replay_cache = %q", filepath.Join(d.dir, "replay.cache"))
				d.writeConfig(t, o)
				d.stop()
				d.start(t)
			}
			p := d.provider(t)
			tok := r.apReq(t, p)
			if err := r.accept(t, p, tok); err != nil {
				t.Fatalf("first AP-REQ: %v", err)
			}
			if err := r.accept(t, p, tok); err == nil || !strings.Contains(err.Error(), "KRB_AP_ERR_REPEAT") {
				t.Fatalf("replay before the crash: %v", err)
			}
			d.kill(t)
			d.start(t)
			err := r.accept(t, d.provider(t), tok)
			switch {
			case persistent && (err == nil || !strings.Contains(err.Error(), "KRB_AP_ERR_REPEAT")):
				t.Fatalf("replay after kill -9 and restart: %v, want KRB_AP_ERR_REPEAT", err)
			case !persistent && err != nil:
				t.Fatalf("replay after a restart without a replay cache file: %v (the control expects it to pass)", err)
			}
			if errors.Is(err, sspi.StatusInternalError) {
				t.Fatal(err)
			}
		})
	}
}
