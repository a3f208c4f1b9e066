//go:build linux

package lsad_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/sqlite" // the sqlite: store
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

const alicePassword = "alice-Passw0rd-e2e"

// processHarness is a secpkgtest.Harness on a running lsad process.
type processHarness struct{ d *daemon }

func (h processHarness) Connect(t testing.TB) lsa.Conn { return h.d.client(t) }

func (h processHarness) Stats() lsa.Stats {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := h.d.adminClient()
	if err != nil {
		return lsa.Stats{Credentials: -1, Contexts: -1, Exports: -1}
	}
	st, err := c.Stats(ctx, nil)
	if err != nil {
		return lsa.Stats{Credentials: -1, Contexts: -1, Exports: -1}
	}
	return st.Engine
}

// TestE2EConformance runs the conformance kit on NTLM through a real lsad
// process: every call of the provider under test crosses the socket to
// another process, and the kit's leak checks read the daemon's handle
// counts with the Stats operation. (packages/ntlm runs the same kit in
// the two in-process modes.)
func TestE2EConformance(t *testing.T) {
	// The kit fails many handshakes of alice on purpose: no lockout.
	d := startDaemon(t, "conformance", daemonOpts{lockout: "threshold = -1"})
	d.addUser(t, "alice", alicePassword)
	secpkgtest.Run(t, secpkgtest.Config{
		Package: "NTLM",
		NewHarness: func(t *testing.T) secpkgtest.Harness {
			// One daemon serves every subtest: start each once the
			// previous one's connections are gone, so that its
			// baseline is the daemon's.
			idle(t, d)
			return processHarness{d}
		},
		User: "alice", Domain: domain, Password: []byte(alicePassword),
		Target:          target,
		ClientFlags:     e2eFlags,
		ServerFlags:     sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity,
		WantClientFlags: sspi.ISCRetConfidentiality | sspi.ISCRetIntegrity | sspi.ISCRetSequenceDetect | sspi.ISCRetReplayDetect,
		WantServerFlags: sspi.ASCRetConfidentiality | sspi.ASCRetIntegrity | sspi.ASCRetSequenceDetect | sspi.ASCRetReplayDetect,
		Mapped:          true,
		SequenceDetect:  true,
		Exportable:      true,
		Secrets:         [][]byte{ntHash(alicePassword)},
	})
}

// idle waits until the daemon holds nothing but the test's admin
// connection: closed connections are freed asynchronously.
func idle(t testing.TB, d *daemon) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		if st := d.stats(t).Engine; st != (lsa.Stats{Conns: 1, LogonSessions: st.LogonSessions}) {
			return fmt.Errorf("lsad holds %+v", st)
		}
		return nil
	})
}

// lsaMode is one way an application reaches the LSA: open returns a new
// application (a provider on a connection of its own), stats what the
// LSA holds.
type lsaMode struct {
	name  string
	setup func(t *testing.T) (open func(t *testing.T) *sspi.Provider, stats func(t *testing.T) lsa.Stats)
}

// engineWithAlice is an in-process LSA like lsad's: NTLM, a SQLite store
// holding alice, the same machine names.
func engineWithAlice(t testing.TB) *engine.Engine {
	t.Helper()
	store, err := accounts.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "accounts.db"), &accounts.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{
		Packages: []string{"NTLM"}, Accounts: store,
		Parameters: secpkg.Parameters{MachineName: "SERVER", DomainName: domain, DNSMachineName: "server.example.com", DNSDomainName: "example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); store.Close() })
	if err := e.SetPassword(context.Background(), domain, "alice", []byte(alicePassword)); err != nil {
		t.Fatal(err)
	}
	return e
}

var lsaModes = []lsaMode{
	{"Embedded", func(t *testing.T) (func(*testing.T) *sspi.Provider, func(*testing.T) lsa.Stats) {
		e := engineWithAlice(t)
		return func(t *testing.T) *sspi.Provider {
			p := sspi.NewProvider(e.Connect(engine.CurrentProcess()), nil)
			t.Cleanup(func() { p.Close() })
			return p
		}, func(*testing.T) lsa.Stats { return e.Stats() }
	}},
	{"DaemonInProcess", func(t *testing.T) (func(*testing.T) *sspi.Provider, func(*testing.T) lsa.Stats) {
		e := engineWithAlice(t)
		sock := secpkgtest.ServeEngine(t, e)
		return func(t *testing.T) *sspi.Provider {
			c, err := lsarpc.Dial(context.Background(), sock)
			if err != nil {
				t.Fatal(err)
			}
			p := sspi.NewProvider(c, nil)
			t.Cleanup(func() { p.Close() })
			return p
		}, func(*testing.T) lsa.Stats { return e.Stats() }
	}},
	{"Process", func(t *testing.T) (func(*testing.T) *sspi.Provider, func(*testing.T) lsa.Stats) {
		d := startDaemon(t, "modes", daemonOpts{packages: []string{"NTLM"}})
		d.addUser(t, "alice", alicePassword)
		return func(t *testing.T) *sspi.Provider { return d.provider(t) }, func(t *testing.T) lsa.Stats { return d.stats(t).Engine }
	}},
}

// TestE2EBothModes runs one application scenario through the embedded
// engine, the protocol served in-process, and a real lsad process: the
// same provider code passes against each.
func TestE2EBothModes(t *testing.T) {
	for _, m := range lsaModes {
		t.Run(m.name, func(t *testing.T) {
			open, stats := m.setup(t)
			scenario(t, open, stats)
		})
	}
}

// scenario is what an application does: explicit and default
// credentials, a handshake with messages both ways, refusals, a logon
// session, export to another process; and the LSA holds nothing
// afterwards.
func scenario(t *testing.T, open func(*testing.T) *sspi.Provider, stats func(*testing.T) lsa.Stats) {
	ctx := context.Background()
	base := stats(t)
	app := open(t)
	cc, sc := credentials(t, app, "alice", alicePassword)
	pr := established(t, cc, sc, "alice")
	exchange(t, pr, "explicit")
	if got := pr.client.Flags(); got&(sspi.ISCRetConfidentiality|sspi.ISCRetIntegrity) == 0 {
		t.Errorf("client flags %v", got)
	}

	// A wrong password and an unknown user are refused alike.
	noteSecret("password (wrong)", []byte("not-"+alicePassword))
	for _, u := range []string{"alice", "mallory"} {
		bad, badServer := credentials(t, app, u, "not-"+alicePassword)
		badPair, err := handshake(ctx, bad, sc)
		if !errors.Is(err, sspi.StatusLogonDenied) {
			t.Fatalf("handshake as %s with a wrong password: %v, want SEC_E_LOGON_DENIED", u, err)
		}
		badPair.delete()
		bad.Free()
		badServer.Free()
	}

	// A logon session, and default credentials drawn from it.
	ls, err := app.LogonUser(ctx, "NTLM", &sspi.AuthIdentity{User: "alice", Domain: domain, Password: []byte(alicePassword)})
	if err != nil {
		t.Fatalf("LogonUser: %v", err)
	}
	list, err := app.LogonSessions(ctx)
	if err != nil || !slices.ContainsFunc(list, func(s sspi.LogonSession) bool { return s.LogonID == ls.LogonID }) {
		t.Fatalf("LogonSessions = %+v, %v; want %v", list, err, ls.LogonID)
	}
	dc, dsc := credentials(t, app, "alice", "")
	dpr := established(t, dc, dsc, "alice")
	exchange(t, dpr, "default credentials")
	if err := app.Logoff(ctx, ls.LogonID); err != nil {
		t.Fatalf("Logoff: %v", err)
	}
	if _, err := app.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, nil); !errors.Is(err, sspi.StatusNoCredentials) {
		t.Fatalf("default credentials after logoff: %v, want SEC_E_NO_CREDENTIALS", err)
	}

	// Export to another process of the same user.
	blob, err := pr.client.Export(ctx)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	other := open(t)
	ic, err := other.ImportContext(ctx, blob)
	if err != nil {
		t.Fatalf("ImportContext: %v", err)
	}
	tok, err := ic.Wrap([]byte("from the importer"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := pr.server.Unwrap(tok); err != nil || string(got) != "from the importer" {
		t.Fatalf("Unwrap of the imported context's message: %q, %v", got, err)
	}
	ic.Delete()
	pr.server.Delete()
	dpr.delete()
	for _, c := range []*sspi.Credentials{cc, sc, dc, dsc} {
		c.Free()
	}
	eventually(t, 5*time.Second, func() error {
		if st := stats(t); st.Credentials != base.Credentials || st.Contexts != base.Contexts || st.Exports != base.Exports || st.LogonSessions != base.LogonSessions {
			return errors.New("the LSA still holds handles of the scenario")
		}
		return nil
	})
}
