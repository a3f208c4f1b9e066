package kerberos_test

// The attacks of the security test catalogue (§1c) against the package,
// through the public API and the LSA, with real tickets of the realm's
// KDC. Each has a control that passes, so that each refusal is seen to
// be the check's doing.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/packages/kerberos"
)

// accept accepts tok with fresh server credentials for principal ("" for
// any key of the keytab).
func accept(t *testing.T, p *sspi.Provider, principal string, tok []byte) (*sspi.ServerContext, error) {
	t.Helper()
	s := sspi.NewServerContext(acceptor(t, p, principal), nil)
	t.Cleanup(func() { s.Delete() })
	_, _, err := s.Accept(context.Background(), tok)
	return s, err
}

// wantCode checks that err is a refusal naming the Kerberos error code
// and carrying status st.
func wantCode(t *testing.T, what string, err error, code string, st sspi.Status) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), code) || !errors.Is(err, st) {
		t.Fatalf("%s: %v, want %s (%v)", what, err, code, st)
	}
}

// TestAttackReplay: the same AP-REQ twice is refused (KRB_AP_ERR_REPEAT),
// also by another acceptor of the same LSA (one replay cache).
func TestAttackReplay(t *testing.T) {
	r := liveRealm(t)
	forEachMode(t, r, nil, func(t *testing.T, p *sspi.Provider, _ *engine.Engine) {
		c, _ := pair(t, alice(t, p, r), acceptor(t, p, spn(r.Service)), r.Service, allFlags, nil)
		tok, _, err := c.Initialize(bg(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := accept(t, p, spn(r.Service), tok); err != nil {
			t.Fatal(err)
		}
		_, err = accept(t, p, spn(r.Service), tok)
		wantCode(t, "replayed AP-REQ", err, "KRB_AP_ERR_REPEAT", sspi.StatusLogonDenied)
		_, err = accept(t, p, "", tok)
		wantCode(t, "replayed AP-REQ, unbound acceptor", err, "KRB_AP_ERR_REPEAT", sspi.StatusLogonDenied)
	})
}

// aliasKeytab writes a keytab holding the service's keys also under
// alias, a principal whose name has the length of the service's (so
// that a byte substitution renames a ticket): two principals sharing a
// key, as a host with several names has.
func aliasKeytab(t *testing.T, r *realm, service, alias string) string {
	t.Helper()
	b, err := os.ReadFile(r.ServiceKeytab)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := krb5.ParseKeytab(b)
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := krb5.LoadConfig(r.Config)
	sp, _ := conf.ServicePrincipal(service)
	ap, _ := conf.ServicePrincipal(alias)
	for _, e := range kt.Entries() {
		if e.Principal.Equal(sp) {
			kt.Add(ap, e.KVNO, e.Key, e.Timestamp)
		}
	}
	path := filepath.Join(t.TempDir(), "alias.keytab")
	if err := os.WriteFile(path, kt.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAttackReplayRenamedSName: an AP-REQ replayed with the ticket's
// plaintext server name rewritten to another principal with the same key
// (the ticket still decrypts) is refused: the replay cache is keyed on
// the principal whose key opened the ticket, and principals sharing a key
// count as one (gokrb5 keyed on the plaintext sname, go-krb5 PR #155).
func TestAttackReplayRenamedSName(t *testing.T) {
	r := liveRealm(t)
	kt := aliasKeytab(t, r, "host@localhost", "host@l0calhost")
	forEachMode(t, r, func(kc *kerberos.Config, _ *engine.Config) { kc.Keytabs = []string{kt} }, func(t *testing.T, p *sspi.Provider, _ *engine.Engine) {
		rename := func(tok []byte) []byte {
			out := bytes.Replace(tok, []byte("localhost"), []byte("l0calhost"), 1)
			if bytes.Equal(out, tok) {
				t.Fatal("no name to rename")
			}
			return out
		}
		cc := alice(t, p, r)
		newTok := func() []byte {
			c, _ := pair(t, cc, acceptor(t, p, ""), "host@localhost", allFlags, nil)
			tok, _, err := c.Initialize(bg(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		// Control: a renamed ticket, never seen, opens under the alias.
		if s, err := accept(t, p, "", rename(newTok())); err != nil {
			t.Fatalf("renamed fresh AP-REQ: %v", err)
		} else if id, _ := s.Identity(); id.User != r.User {
			t.Fatalf("identity %v", id)
		}
		tok := newTok()
		if _, err := accept(t, p, "", tok); err != nil {
			t.Fatal(err)
		}
		_, err := accept(t, p, "", rename(tok))
		wantCode(t, "replay under a rewritten sname", err, "KRB_AP_ERR_REPEAT", sspi.StatusLogonDenied)
		_, err = accept(t, p, "host/l0calhost", rename(tok))
		wantCode(t, "replay to the alias's own acceptor", err, "KRB_AP_ERR_REPEAT", sspi.StatusLogonDenied)
	})
}

// TestAttackRealmSpoofing: an authenticator naming another realm (or
// another client) than the ticket's encrypted part is refused
// (KRB_AP_ERR_BADMATCH); the identity only ever comes from the ticket.
func TestAttackRealmSpoofing(t *testing.T) {
	r := liveRealm(t)
	f := newForger(t, r)
	forEachMode(t, r, nil, func(t *testing.T, p *sspi.Provider, _ *engine.Engine) {
		if s, err := accept(t, p, spn(r.Service), f.apReq(t, f.ticket(t, r.Service), nil, nil)); err != nil {
			t.Fatalf("control: forged but honest AP-REQ: %v", err)
		} else if id, _ := s.Identity(); id.Domain != r.Realm {
			t.Fatalf("identity %v", id)
		}
		_, err := accept(t, p, spn(r.Service), f.apReq(t, f.ticket(t, r.Service), nil, func(a *types.Authenticator) { a.CRealm = "ADMIN.TEST" }))
		wantCode(t, "authenticator of another realm", err, "KRB_AP_ERR_BADMATCH", sspi.StatusLogonDenied)
		_, err = accept(t, p, spn(r.Service), f.apReq(t, f.ticket(t, r.Service), nil, func(a *types.Authenticator) {
			a.CName = types.PrincipalName{NameType: 1, NameString: []string{"administrator"}}
		}))
		wantCode(t, "authenticator of another client", err, "KRB_AP_ERR_BADMATCH", sspi.StatusLogonDenied)
	})
}

// TestAttackSkewAcceptor: an authenticator within the clock skew of the
// acceptor's clock is accepted, one just beyond it either way refused
// (KRB_AP_ERR_SKEW, SEC_E_TIME_SKEW); the skew is the configured one.
func TestAttackSkewAcceptor(t *testing.T) {
	r := liveRealm(t)
	f := newForger(t, r)
	const skew = 2 * time.Minute
	forEachMode(t, r, func(kc *kerberos.Config, _ *engine.Config) { kc.ClockSkew = skew }, func(t *testing.T, p *sspi.Provider, _ *engine.Engine) {
		for _, tc := range []struct {
			off time.Duration
			ok  bool
		}{
			{skew - 10*time.Second, true}, {-skew + 10*time.Second, true},
			{skew + 10*time.Second, false}, {-skew - 10*time.Second, false},
		} {
			tok := f.apReq(t, f.ticket(t, r.Service), nil, func(a *types.Authenticator) {
				a.CTime = a.CTime.Add(tc.off)
			})
			_, err := accept(t, p, spn(r.Service), tok)
			if tc.ok && err != nil {
				t.Fatalf("authenticator %v off: %v", tc.off, err)
			}
			if !tc.ok {
				wantCode(t, "authenticator "+tc.off.String()+" off", err, "KRB_AP_ERR_SKEW", sspi.StatusTimeSkew)
			}
		}
	})
}

// TestAttackSkewInitiator: an initiator whose clock is within the skew of
// the KDC's and the acceptor's works; one beyond it is refused by the KDC
// (or refuses the KDC's reply): SEC_E_TIME_SKEW.
func TestAttackSkewInitiator(t *testing.T) {
	r := liveRealm(t)
	skew := 5 * time.Minute // the realm's clockskew
	for _, tc := range []struct {
		off time.Duration
		ok  bool
	}{
		{skew - 30*time.Second, true}, {-skew + 30*time.Second, true},
		{skew + time.Minute, false}, {-skew - time.Minute, false},
	} {
		t.Run(tc.off.String(), func(t *testing.T) {
			client := newEngine(t, r, func(_ *kerberos.Config, ec *engine.Config) {
				ec.Time = func() time.Time { return time.Now().Add(tc.off) }
			})
			server := newEngine(t, r, nil)
			cp := sspi.NewProvider(client.Connect(engine.CurrentProcess()), nil)
			sp := sspi.NewProvider(server.Connect(engine.CurrentProcess()), nil)
			defer cp.Close()
			defer sp.Close()
			c, s := pair(t, alice(t, cp, r), acceptor(t, sp, spn(r.Service)), r.Service, allFlags, nil)
			err := handshake(bg(t), c, s)
			if tc.ok && err != nil {
				t.Fatalf("clock %v off: %v", tc.off, err)
			}
			if !tc.ok && !errors.Is(err, sspi.StatusTimeSkew) {
				t.Fatalf("clock %v off: %v, want SEC_E_TIME_SKEW", tc.off, err)
			}
		})
	}
}

// handshake runs the token loop.
func handshake(ctx context.Context, c *sspi.ClientContext, s *sspi.ServerContext) error {
	var in []byte
	for range 4 {
		out, st, err := c.Initialize(ctx, in)
		if err != nil {
			return err
		}
		if len(out) == 0 && st == sspi.StatusOK {
			return nil
		}
		back, sst, err := s.Accept(ctx, out)
		if err != nil {
			return err
		}
		if st == sspi.StatusOK && sst == sspi.StatusOK {
			return nil
		}
		in = back
	}
	return errors.New("handshake does not end")
}

// TestAttackTicketTimes: a ticket used after its end (with the skew) is
// refused (KRB_AP_ERR_TKT_EXPIRED), one used before its start is refused
// (KRB_AP_ERR_TKT_NYV); the acceptor's clock is moved, the tickets are
// the KDC's.
func TestAttackTicketTimes(t *testing.T) {
	r := liveRealm(t)
	f := newForger(t, r)
	for _, tc := range []struct {
		name string
		off  func(svc *krb5.Credential) time.Duration
		code string
		st   sspi.Status
	}{
		{"expired", func(svc *krb5.Credential) time.Duration { return time.Until(svc.EndTime) + 6*time.Minute }, "KRB_AP_ERR_TKT_EXPIRED", sspi.StatusContextExpired},
		{"not-yet-valid", func(svc *krb5.Credential) time.Duration { return -6 * time.Minute }, "KRB_AP_ERR_TKT_NYV", sspi.StatusTimeSkew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := f.ticket(t, r.Service)
			off := tc.off(svc)
			e := newEngine(t, r, func(_ *kerberos.Config, ec *engine.Config) {
				ec.Time = func() time.Time { return time.Now().Add(off) }
			})
			p := sspi.NewProvider(e.Connect(engine.CurrentProcess()), nil)
			defer p.Close()
			tok := f.apReq(t, svc, nil, func(a *types.Authenticator) { a.CTime = a.CTime.Add(off) })
			_, err := accept(t, p, spn(r.Service), tok)
			wantCode(t, tc.name+" ticket", err, tc.code, tc.st)
		})
	}
}

// pacBuffers splits a PAC (MS-PAC 2.3) into its buffers.
func pacBuffers(t *testing.T, pac []byte) (types []uint32, data [][]byte) {
	t.Helper()
	n := binary.LittleEndian.Uint32(pac)
	for i := range n {
		h := pac[8+16*i:]
		typ, size, off := binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:]), binary.LittleEndian.Uint64(h[8:])
		types = append(types, typ)
		data = append(data, bytes.Clone(pac[off:off+uint64(size)]))
	}
	return types, data
}

// pacBuild lays buffers out as a PAC, each 8-byte aligned.
func pacBuild(types []uint32, data [][]byte) []byte {
	off := 8 + 16*len(types)
	off = (off + 7) &^ 7
	hdr := make([]byte, 8+16*len(types))
	binary.LittleEndian.PutUint32(hdr, uint32(len(types)))
	var body []byte
	for i, d := range data {
		binary.LittleEndian.PutUint32(hdr[8+16*i:], types[i])
		binary.LittleEndian.PutUint32(hdr[12+16*i:], uint32(len(d)))
		binary.LittleEndian.PutUint64(hdr[16+16*i:], uint64(off+len(body)))
		body = append(body, d...)
		for len(body)%8 != 0 {
			body = append(body, 0)
		}
	}
	out := append(hdr, make([]byte, off-len(hdr))...)
	return append(out, body...)
}

// editPAC returns an edit of a ticket's encrypted part that rewrites the
// PAC (in AD-IF-RELEVANT, AD-WIN2K-PAC) with f.
func editPAC(t *testing.T, f func(pac []byte) []byte) func(*messages.EncTicketPart) {
	return func(etp *messages.EncTicketPart) {
		found := false
		for i, ad := range etp.AuthorizationData {
			if ad.ADType != 1 { // AD-IF-RELEVANT
				continue
			}
			var inner types.AuthorizationData
			if err := inner.Unmarshal(ad.ADData); err != nil {
				t.Fatal(err)
			}
			for j, e := range inner {
				if e.ADType == 128 { // AD-WIN2K-PAC
					inner[j].ADData = f(e.ADData)
					found = true
				}
			}
			b, err := asn1Marshal(inner)
			if err != nil {
				t.Fatal(err)
			}
			etp.AuthorizationData[i].ADData = b
		}
		if !found {
			t.Fatal("the ticket has no PAC")
		}
	}
}

// TestAttackPACUnkeyed: a ticket whose PAC server signature is an unkeyed
// checksum (MS14-068's RSA-MD5) or empty is refused (SEC_E_LOGON_DENIED),
// not accepted with a warning; the same ticket rebuilt without change is
// accepted.
func TestAttackPACUnkeyed(t *testing.T) {
	r := liveRealm(t)
	f := newForger(t, r)
	const serverChecksum = 6
	forEachMode(t, r, nil, func(t *testing.T, p *sspi.Provider, _ *engine.Engine) {
		same := editPAC(t, func(pac []byte) []byte { return pac })
		if s, err := accept(t, p, spn(r.Service), f.apReq(t, f.ticket(t, r.Service), same, nil)); err != nil {
			t.Fatalf("control: rebuilt ticket: %v", err)
		} else if id, _ := s.Identity(); id.PAC == nil {
			t.Fatal("control: no PAC in the identity")
		}
		for name, sig := range map[string]func(pac []byte) []byte{
			"rsa-md5": func(pac []byte) []byte {
				s := binary.LittleEndian.AppendUint32(nil, 7) // RSA-MD5, unkeyed
				sum := md5.Sum(pac)
				return append(s, sum[:]...)
			},
			"empty": func([]byte) []byte { return binary.LittleEndian.AppendUint32(nil, 16) }, // hmac-sha1-96-aes256, no bytes
		} {
			tok := f.apReq(t, f.ticket(t, r.Service), editPAC(t, func(pac []byte) []byte {
				types, data := pacBuffers(t, pac)
				for i, ty := range types {
					if ty == serverChecksum {
						data[i] = sig(pac)
					}
				}
				return pacBuild(types, data)
			}), nil)
			_, err := accept(t, p, spn(r.Service), tok)
			if !errors.Is(err, sspi.StatusLogonDenied) || !strings.Contains(err.Error(), "PAC") {
				t.Fatalf("%s server signature: %v, want SEC_E_LOGON_DENIED for the PAC", name, err)
			}
		}
	})
}

// TestAttackOrpheusLyre: a KDC reply whose plaintext ticket server name
// differs from the encrypted one (CVE-2017-11103) is refused by our
// initiator; the reply is rewritten between it and the real KDC.
func TestAttackOrpheusLyre(t *testing.T) {
	r := liveRealm(t)
	proxy := tamperingKDC(t, r, func(rep []byte) []byte {
		if len(rep) == 0 || rep[0] != 0x6d { // TGS-REP
			return rep
		}
		// The ticket's plaintext sname "host" (before "localhost"):
		// another service's name.
		return bytes.Replace(rep, []byte("\x1b\x04host"), []byte("\x1b\x04HTTP"), 1)
	})
	conf := filepath.Join(t.TempDir(), "krb5.conf")
	b, _ := os.ReadFile(r.Config)
	os.WriteFile(conf, bytes.Replace(b, []byte("kdc = "+r.KDC), []byte("kdc = tcp/"+proxy), -1), 0o600)
	forEachMode(t, r, func(kc *kerberos.Config, _ *engine.Config) { kc.ConfigFiles = []string{conf} }, func(t *testing.T, p *sspi.Provider, _ *engine.Engine) {
		c, _ := pair(t, alice(t, p, r), acceptor(t, p, spn(r.Service)), r.Service, allFlags, nil)
		_, _, err := c.Initialize(bg(t), nil)
		if !errors.Is(err, krb5.ErrKDCReplyModified) && (err == nil || !strings.Contains(err.Error(), "KDC reply")) {
			t.Fatalf("tampered TGS-REP: %v, want it refused as modified", err)
		}
		if !errors.Is(err, sspi.StatusLogonDenied) {
			t.Fatalf("tampered TGS-REP: %v, want SEC_E_LOGON_DENIED", err)
		}
	})
}

// tamperingKDC is a KDC on TCP in front of the realm's, which rewrites
// every reply with f.
func tamperingKDC(t *testing.T, r *realm, f func([]byte) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := readTCPMessage(c)
				if err != nil {
					return
				}
				kdc, err := net.Dial("tcp", r.KDC)
				if err != nil {
					return
				}
				defer kdc.Close()
				if _, err := kdc.Write(req); err != nil {
					return
				}
				rep, err := readTCPMessage(kdc)
				if err != nil {
					return
				}
				body := f(rep[4:])
				binary.BigEndian.PutUint32(rep[:4], uint32(len(body)))
				c.Write(append(rep[:4], body...))
			}()
		}
	}()
	return ln.Addr().String()
}

func readTCPMessage(c net.Conn) ([]byte, error) {
	br := bufio.NewReader(c)
	var n [4]byte
	if _, err := io.ReadFull(br, n[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(n[:]))
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	return append(n[:], body...), nil
}

// TestAttackReflection: an AP-REQ reflected to its initiator as the
// AP-REP, and an AP-REP presented to an acceptor, are refused
// (SEC_E_INVALID_TOKEN).
func TestAttackReflection(t *testing.T) {
	r := liveRealm(t)
	forEachMode(t, r, nil, func(t *testing.T, p *sspi.Provider, _ *engine.Engine) {
		cc, sc := alice(t, p, r), acceptor(t, p, spn(r.Service))
		c, s := pair(t, cc, sc, r.Service, allFlags, nil)
		apreq, _, err := c.Initialize(bg(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		aprep, _, err := s.Accept(bg(t), apreq)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Initialize(bg(t), apreq)
		if !errors.Is(err, sspi.StatusInvalidToken) {
			t.Fatalf("AP-REQ reflected to the initiator: %v, want SEC_E_INVALID_TOKEN", err)
		}
		_, err = accept(t, p, spn(r.Service), aprep)
		if !errors.Is(err, sspi.StatusInvalidToken) {
			t.Fatalf("AP-REP presented to an acceptor: %v, want SEC_E_INVALID_TOKEN", err)
		}
	})
}

// TestDelegationPolicy: with the ok-as-delegate policy (Windows' rule)
// the initiator delegates only to services the KDC marks ok-as-delegate;
// the acceptor's identity names the delegated logon session only then.
func TestDelegationPolicy(t *testing.T) {
	r := liveRealm(t)
	forEachMode(t, r, func(kc *kerberos.Config, _ *engine.Config) { kc.Delegation = kerberos.DelegateIfOKAsDelegate }, func(t *testing.T, p *sspi.Provider, _ *engine.Engine) {
		for _, tc := range []struct {
			service   string
			delegated bool
		}{{r.Service, false}, {r.DelegateService, true}} {
			c, s := pair(t, alice(t, p, r), acceptor(t, p, spn(tc.service)), tc.service, allFlags|sspi.ISCReqDelegate, nil)
			if err := handshake(bg(t), c, s); err != nil {
				t.Fatal(err)
			}
			id, _ := s.Identity()
			if got := c.Flags()&sspi.ISCRetDelegate != 0; got != tc.delegated || (id.LogonID != 0) != tc.delegated {
				t.Fatalf("%s: delegated %v, logon session %v, want %v", tc.service, got, id.LogonID, tc.delegated)
			}
		}
	})
}
