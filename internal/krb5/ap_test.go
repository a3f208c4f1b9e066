package krb5

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// acceptor returns an Acceptor for the realm's service keytab.
func (r *liveRealm) acceptor(t testing.TB) *Acceptor {
	return &Acceptor{Keytab: r.serviceKeytab(t), ReplayCache: &MemoryReplayCache{}}
}

// openTicket decrypts a ticket with the service keytab, as a forger who
// holds the service key would.
func openTicket(t testing.TB, kt *Keytab, raw []byte) (ticket, encTicketPart, Key) {
	t.Helper()
	tk, err := parseTicket(raw)
	if err != nil {
		t.Fatal(err)
	}
	kte, err := kt.Key(tk.SName, tk.EncPart.KVNO, tk.EncPart.EType)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := tk.EncPart.open(kte.Key, usageTicket)
	if err != nil {
		t.Fatal(err)
	}
	var enc encTicketPart
	if err := enc.unmarshal(pt); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc.marshal(), pt) {
		t.Fatal("EncTicketPart does not re-encode to the KDC's bytes")
	}
	return tk, enc, kte.Key
}

// sealTicket encrypts enc into tk with key and returns the ticket.
func sealTicket(t testing.TB, tk ticket, enc *encTicketPart, key Key) []byte {
	t.Helper()
	ed, err := seal(key, usageTicket, enc.marshal(), tk.EncPart.KVNO, tk.EncPart.HasKVNO)
	if err != nil {
		t.Fatal(err)
	}
	tk.EncPart = ed
	return tk.marshal()
}

// forgeAPReq builds an AP-REQ for cred as NewAPReq does, after edit has
// changed the authenticator.
func forgeAPReq(t testing.TB, cred *Credential, options uint32, edit func(a *authenticator)) []byte {
	t.Helper()
	now := time.Now()
	gc := gssChecksum{Flags: GSSMutual | GSSInteg}
	a := authenticator{
		Client: cred.Client, Cksum: &checksum{Type: ChecksumGSS, Sum: gc.marshal()},
		Cusec: int32(now.Nanosecond() / 1000), CTime: now.UTC().Truncate(time.Second),
		SeqNumber: 7, HasSeq: true,
	}
	edit(&a)
	ed, err := seal(cred.SessionKey, usageAPReqAuth, a.marshal(), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	return (&apReq{Options: options, Ticket: ticket{Raw: cred.Ticket}, Authenticator: ed}).marshal()
}

// wantCode asserts that err carries code and the status of code.
func wantCode(t testing.TB, err error, code ErrorCode) {
	t.Helper()
	if !errors.Is(err, code) {
		t.Fatalf("got %v, want %v", err, code)
	}
	if st := secpkg.StatusOf(err); st != code.Status() {
		t.Fatalf("%v: status %v, want %v", err, st, code.Status())
	}
}

func TestAPExchangeEachEType(t *testing.T) {
	r := realm(t)
	tgt := r.tgt(t)
	c := r.client(t)
	sp, _ := c.Config.ServicePrincipal(r.Service)
	for _, e := range DefaultETypes {
		t.Run(e.String(), func(t *testing.T) {
			cred, err := c.GetServiceTicket(testContext(t), tgt, sp, &TGSOptions{ETypes: []EType{e}})
			if err != nil {
				t.Fatal(err)
			}
			if cred.SessionKey.EType() != e {
				t.Fatalf("session key %v", cred.SessionKey.EType())
			}
			cb := []byte("flat channel bindings")
			req, err := NewAPReq(cred, APReqOptions{Flags: GSSMutual | GSSReplay | GSSSequence | GSSConf | GSSInteg, MutualRequired: true, Bindings: cb})
			if err != nil {
				t.Fatal(err)
			}
			acc := r.acceptor(t)
			acc.Bindings = cb
			got, err := acc.VerifyAPReq(context.Background(), req.Message)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Client.Equal(tgt.Client) || !got.Server.Equal(sp) || !got.MutualRequired ||
				got.Flags != req.Flags || got.Bindings != BindingsMatched || got.SeqNumber != req.SeqNumber ||
				!got.Subkey.Equal(req.Subkey) || !got.SessionKey.Equal(cred.SessionKey) || got.Subkey.EType() != e {
				t.Fatalf("accepted %v", got)
			}
			rep, err := got.NewAPRep(APRepOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ir, err := req.VerifyAPRep(rep.Message)
			if err != nil {
				t.Fatal(err)
			}
			if !ir.Subkey.Equal(rep.Subkey) || ir.SeqNumber != rep.SeqNumber || !ir.HasSeqNumber || ir.Subkey.EType() != e {
				t.Fatalf("AP-REP %v, sent %v", ir, rep)
			}
			// A second acceptor sees the same AP-REQ again: refused.
			_, err = acc.VerifyAPReq(context.Background(), req.Message)
			wantCode(t, err, APErrRepeat)
		})
	}
}

func TestAPRepChecks(t *testing.T) {
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	req, err := NewAPReq(cred, APReqOptions{Flags: GSSMutual, MutualRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.acceptor(t).VerifyAPReq(context.Background(), req.Message)
	if err != nil {
		t.Fatal(err)
	}
	build := func(edit func(e *encAPRepPart), key Key, usage uint32) []byte {
		e := encAPRepPart{CTime: got.CTime, Cusec: got.Cusec, SeqNumber: 5, HasSeq: true}
		edit(&e)
		ed, err := seal(key, usage, e.marshal(), 0, false)
		if err != nil {
			t.Fatal(err)
		}
		return (&apRep{EncPart: ed}).marshal()
	}
	other, _ := GenerateKey(cred.SessionKey.EType(), nil)
	rc4, _ := NewKey(RC4HMAC, make([]byte, 16))
	for name, msg := range map[string][]byte{
		"ctime":         build(func(e *encAPRepPart) { e.CTime = e.CTime.Add(time.Second) }, cred.SessionKey, usageAPRep),
		"cusec":         build(func(e *encAPRepPart) { e.Cusec = (e.Cusec + 1) % 1000000 }, cred.SessionKey, usageAPRep),
		"usage 11":      build(func(*encAPRepPart) {}, cred.SessionKey, usageAPReqAuth),
		"another key":   build(func(*encAPRepPart) {}, other, usageAPRep),
		"weak subkey":   build(func(e *encAPRepPart) { e.Subkey = rc4 }, cred.SessionKey, usageAPRep),
		"not an AP-REP": req.Message,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := req.VerifyAPRep(msg)
			want := secpkg.StatusMutualAuthFailed
			if name == "not an AP-REP" {
				want = secpkg.StatusInvalidToken
			}
			if secpkg.StatusOf(err) != want {
				t.Fatalf("got %v", err)
			}
		})
	}
	// The untouched one passes, and flipping any byte of it fails.
	good := build(func(*encAPRepPart) {}, cred.SessionKey, usageAPRep)
	if _, err := req.VerifyAPRep(good); err != nil {
		t.Fatal(err)
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		if _, err := req.VerifyAPRep(bad); err == nil {
			t.Fatalf("AP-REP with byte %d flipped accepted", i)
		}
	}
	// A KRB-ERROR in its place carries the acceptor's code.
	ke := MarshalKRBError(protoErr(APErrSkew, "x"), cred.Server, time.Now())
	_, err = req.VerifyAPRep(ke)
	wantCode(t, err, APErrSkew)
	var kerr *KRBError
	if !errors.As(err, &kerr) || !kerr.Server.Equal(cred.Server) {
		t.Fatalf("got %v", err)
	}
}

func TestAPReqClockSkew(t *testing.T) {
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	skew := 5 * time.Minute
	for _, tc := range []struct {
		off time.Duration
		ok  bool
	}{
		{skew - time.Second, true}, {-(skew - time.Second), true},
		{skew + time.Second, false}, {-(skew + time.Second), false},
	} {
		// The authenticator's time is off from the acceptor's clock; the
		// ticket is valid for hours either way.
		now := time.Now()
		at := now.Add(tc.off)
		msg := forgeAPReq(t, cred, 0, func(a *authenticator) {
			a.CTime, a.Cusec = at.UTC().Truncate(time.Second), int32(at.Nanosecond()/1000)
		})
		acc := r.acceptor(t)
		acc.Time = func() time.Time { return now }
		_, err := acc.VerifyAPReq(context.Background(), msg)
		if tc.ok && err != nil {
			t.Errorf("offset %v: %v", tc.off, err)
		}
		if !tc.ok {
			wantCode(t, err, APErrSkew)
		}
	}
}

func TestAPReqTicketTimes(t *testing.T) {
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	req, err := NewAPReq(cred, APReqOptions{})
	if err != nil {
		t.Fatal(err)
	}
	skew := 5 * time.Minute
	for name, tc := range map[string]struct {
		now  time.Time
		code ErrorCode
	}{
		"expired":       {cred.EndTime.Add(skew + time.Second), APErrTktExpired},
		"not yet valid": {cred.StartTime.Add(-skew - time.Second), APErrTktNYV},
	} {
		t.Run(name, func(t *testing.T) {
			acc := r.acceptor(t)
			acc.Time = func() time.Time { return tc.now }
			_, err := acc.VerifyAPReq(context.Background(), req.Message)
			wantCode(t, err, tc.code)
		})
	}
	// Forged tickets (the forger holds the service key): times that the
	// acceptor's own clock finds wrong, and the invalid flag.
	kt := r.serviceKeytab(t)
	for name, tc := range map[string]struct {
		edit func(e *encTicketPart)
		code ErrorCode
	}{
		"ended an hour ago":     {func(e *encTicketPart) { e.EndTime = time.Now().Add(-time.Hour) }, APErrTktExpired},
		"starts in an hour":     {func(e *encTicketPart) { e.StartTime = time.Now().Add(time.Hour) }, APErrTktNYV},
		"invalid flag":          {func(e *encTicketPart) { e.Flags |= FlagInvalid }, APErrTktNYV},
		"still valid (control)": {func(e *encTicketPart) {}, KDCErrNone},
	} {
		t.Run(name, func(t *testing.T) {
			tk, enc, key := openTicket(t, kt, cred.Ticket)
			tc.edit(&enc)
			forged := *cred
			forged.Ticket = sealTicket(t, tk, &enc, key)
			req, err := NewAPReq(&forged, APReqOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.acceptor(t).VerifyAPReq(context.Background(), req.Message)
			if tc.code == KDCErrNone {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code)
		})
	}
}

func TestAPReqAuthenticatorChecks(t *testing.T) {
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	gss := func(b []byte) func(a *authenticator) {
		return func(a *authenticator) { a.Cksum = &checksum{Type: ChecksumGSS, Sum: b} }
	}
	valid := (&gssChecksum{Flags: GSSMutual}).marshal()
	lgth := bytes.Clone(valid)
	lgth[0] = 15
	deleg := func(opt, n uint16, tail []byte) []byte {
		b := (&gssChecksum{Flags: GSSDeleg}).marshal()
		b = binary.LittleEndian.AppendUint16(b, opt)
		b = binary.LittleEndian.AppendUint16(b, n)
		return append(b, tail...)
	}
	for name, tc := range map[string]struct {
		opts uint32
		edit func(a *authenticator)
		code ErrorCode
	}{
		"control":                   {0, func(*authenticator) {}, KDCErrNone},
		"realm spoofed (crealm)":    {0, func(a *authenticator) { a.Client.Realm = "OTHER.TEST" }, APErrBadMatch},
		"client spoofed (cname)":    {0, func(a *authenticator) { a.Client.Components = []string{"bob"} }, APErrBadMatch},
		"no checksum":               {0, func(a *authenticator) { a.Cksum = nil }, APErrInappCksum},
		"keyed checksum, not GSS":   {0, func(a *authenticator) { a.Cksum = &checksum{Type: ChecksumHMACSHA1AES256, Sum: make([]byte, 12)} }, APErrInappCksum},
		"GSS checksum of 23 bytes":  {0, gss(valid[:23]), APErrInappCksum},
		"Lgth 15":                   {0, gss(lgth), APErrInappCksum},
		"DlgOpt 2":                  {0, gss(deleg(2, 0, nil)), APErrInappCksum},
		"Dlgth past the end":        {0, gss(deleg(1, 10, []byte{1, 2})), APErrInappCksum},
		"KRB-CRED of garbage":       {0, gss(deleg(1, 3, []byte{1, 2, 3})), APErrBadIntegrity},
		"extension cut short":       {0, gss(append(bytes.Clone(valid), 0, 0, 0, 1, 0, 0, 0, 9, 1)), APErrInappCksum},
		"well-formed extension":     {0, gss(append(bytes.Clone(valid), 0, 0, 0, 7, 0, 0, 0, 1, 1)), KDCErrNone},
		"user-to-user":              {apOptUseSessionKey, func(*authenticator) {}, KDCErrBadOption},
		"weak subkey":               {0, func(a *authenticator) { a.Subkey, _ = NewKey(RC4HMAC, make([]byte, 16)) }, KDCErrETypeNoSupp},
		"authenticator an hour old": {0, func(a *authenticator) { a.CTime = a.CTime.Add(-time.Hour) }, APErrSkew},
	} {
		t.Run(name, func(t *testing.T) {
			msg := forgeAPReq(t, cred, tc.opts, tc.edit)
			_, err := r.acceptor(t).VerifyAPReq(context.Background(), msg)
			if tc.code == KDCErrNone {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code)
		})
	}
	// The authenticator encrypted with another usage, or another key.
	now := time.Now()
	a := authenticator{Client: cred.Client, Cksum: &checksum{Type: ChecksumGSS, Sum: valid}, CTime: now.UTC().Truncate(time.Second)}
	other, _ := GenerateKey(cred.SessionKey.EType(), nil)
	for name, key := range map[string]Key{"usage 7": cred.SessionKey, "another key": other} {
		usage := uint32(usageAPReqAuth)
		if name == "usage 7" {
			usage = usageTGSReqAuth
		}
		ed, _ := seal(key, usage, a.marshal(), 0, false)
		msg := (&apReq{Ticket: ticket{Raw: cred.Ticket}, Authenticator: ed}).marshal()
		_, err := r.acceptor(t).VerifyAPReq(context.Background(), msg)
		wantCode(t, err, APErrBadIntegrity)
	}
}

func TestAPReqTicketChecks(t *testing.T) {
	r := realm(t)
	tgt := r.tgt(t)
	cred := r.serviceTicket(t, tgt, r.Service)
	kt := r.serviceKeytab(t)
	req, err := NewAPReq(cred, APReqOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Another acceptor name: KRB_AP_ERR_NOT_US.
	acc := r.acceptor(t)
	http := HostBasedService("HTTP", "localhost", r.Realm)
	acc.Service = &http
	_, err = acc.VerifyAPReq(context.Background(), req.Message)
	wantCode(t, err, APErrNotUs)
	// The same name: accepted.
	acc = r.acceptor(t)
	acc.Service = &cred.Server
	if _, err := acc.VerifyAPReq(context.Background(), req.Message); err != nil {
		t.Fatal(err)
	}

	tk, _, _ := openTicket(t, kt, cred.Ticket)
	rename := func(sname Principal) []byte {
		m := apReq{}
		if err := m.unmarshal(req.Message); err != nil {
			t.Fatal(err)
		}
		m.Ticket.SName = sname
		m.Ticket.Raw = m.Ticket.marshal()
		return m.marshal()
	}
	// Plaintext sname rewritten to a principal we hold with another key:
	// that key does not open it.
	_, err = r.acceptor(t).VerifyAPReq(context.Background(), rename(http))
	wantCode(t, err, APErrModified)
	// ... to one we do not hold.
	_, err = r.acceptor(t).VerifyAPReq(context.Background(), rename(HostBasedService("nfs", "localhost", r.Realm)))
	wantCode(t, err, APErrNoKey)
	// A ticket for a TGS (the KDC's key) is not ours either.
	_, err = r.acceptor(t).VerifyAPReq(context.Background(), forgeAPReq(t, tgt, 0, func(*authenticator) {}))
	wantCode(t, err, APErrNoKey)
	// Ciphertext of the ticket flipped.
	m := apReq{}
	_ = m.unmarshal(req.Message)
	m.Ticket.EncPart.Cipher[3] ^= 0x80
	m.Ticket.Raw = m.Ticket.marshal()
	_, err = r.acceptor(t).VerifyAPReq(context.Background(), m.marshal())
	wantCode(t, err, APErrModified)
	// A ticket of a type not permitted.
	acc = r.acceptor(t)
	acc.PermittedETypes = []EType{AES128SHA256}
	if tk.EncPart.EType != AES128SHA256 {
		_, err = acc.VerifyAPReq(context.Background(), req.Message)
		wantCode(t, err, KDCErrETypeNoSupp)
	}
	// Malformed messages.
	for name, msg := range map[string][]byte{
		"empty":          nil,
		"an AP-REP":      {0x6f, 0x00},
		"truncated":      req.Message[:len(req.Message)-1],
		"trailing bytes": append(bytes.Clone(req.Message), 0),
	} {
		_, err := r.acceptor(t).VerifyAPReq(context.Background(), msg)
		if secpkg.StatusOf(err) != secpkg.StatusInvalidToken {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAPReqReplayRenamed replays an AP-REQ under a rewritten plaintext
// sname, to a principal that shares the service's key: the replay cache
// keys on the key that opened the ticket, so the replay is caught.
func TestAPReqReplayRenamed(t *testing.T) {
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	kt := r.serviceKeytab(t)
	alias := HostBasedService("host", "alias.localhost", r.Realm)
	for _, e := range kt.Entries() {
		if e.Principal.Equal(cred.Server) {
			kt.Add(alias, e.KVNO, e.Key, e.Timestamp)
		}
	}
	req, err := NewAPReq(cred, APReqOptions{})
	if err != nil {
		t.Fatal(err)
	}
	acc := &Acceptor{Keytab: kt, ReplayCache: &MemoryReplayCache{}}
	got, err := acc.VerifyAPReq(context.Background(), req.Message)
	if err != nil || !got.Server.Equal(cred.Server) {
		t.Fatal(got, err)
	}
	var m apReq
	_ = m.unmarshal(req.Message)
	m.Ticket.SName = alias
	m.Ticket.Raw = m.Ticket.marshal()
	// On its own, the renamed AP-REQ opens under the alias.
	fresh := &Acceptor{Keytab: kt, ReplayCache: &MemoryReplayCache{}}
	got, err = fresh.VerifyAPReq(context.Background(), m.marshal())
	if err != nil || !got.Server.Equal(alias) {
		t.Fatal(got, err)
	}
	// After the original, it is a replay.
	_, err = acc.VerifyAPReq(context.Background(), m.marshal())
	wantCode(t, err, APErrRepeat)
}

func TestAPReqKVNOTolerance(t *testing.T) {
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	tk, _, key := openTicket(t, r.serviceKeytab(t), cred.Ticket)
	wrong, _ := GenerateKey(key.EType(), nil)
	now := time.Now()
	sp := cred.Server
	for name, tc := range map[string]struct {
		keys []KeytabEntry
		code ErrorCode
	}{
		"exact kvno among others":  {[]KeytabEntry{{KVNO: tk.EncPart.KVNO + 1, Key: wrong}, {KVNO: tk.EncPart.KVNO, Key: key}}, KDCErrNone},
		"right key, other kvno":    {[]KeytabEntry{{KVNO: tk.EncPart.KVNO + 5, Key: key}}, KDCErrNone},
		"newer wrong, older right": {[]KeytabEntry{{KVNO: tk.EncPart.KVNO + 2, Key: wrong}, {KVNO: tk.EncPart.KVNO + 1, Key: key}}, KDCErrNone},
		"only wrong keys":          {[]KeytabEntry{{KVNO: tk.EncPart.KVNO + 2, Key: wrong}}, APErrBadKeyVer},
		"wrong key, right kvno":    {[]KeytabEntry{{KVNO: tk.EncPart.KVNO, Key: wrong}}, APErrModified},
	} {
		t.Run(name, func(t *testing.T) {
			kt := &Keytab{}
			for _, e := range tc.keys {
				kt.Add(sp, e.KVNO, e.Key, now)
			}
			req, err := NewAPReq(cred, APReqOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = (&Acceptor{Keytab: kt, ReplayCache: &MemoryReplayCache{}}).VerifyAPReq(context.Background(), req.Message)
			if tc.code == KDCErrNone {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code)
		})
	}
}

func TestAPReqBindings(t *testing.T) {
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	a, b := []byte("bindings A"), []byte("bindings B")
	for _, tc := range []struct {
		name     string
		sent     []byte
		announce bool
		expect   []byte
		require  bool
		want     BindingsResult
		bad      bool
	}{
		{"none, none", nil, false, nil, false, BindingsNone, false},
		{"same", a, false, a, false, BindingsMatched, false},
		{"different", a, false, b, false, 0, true},
		{"sent, acceptor has none", a, false, nil, false, BindingsNotChecked, false},
		{"sent, acceptor has none but requires", a, false, nil, true, 0, true},
		{"none sent, acceptor has some", nil, false, a, false, BindingsAbsent, false},
		{"none sent, acceptor requires", nil, false, a, true, 0, true},
		{"none sent after announcing support", nil, true, a, false, 0, true},
		{"announced and sent", a, true, a, false, BindingsMatched, false},
		{"empty bindings are not none", []byte{}, false, nil, false, BindingsNotChecked, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := NewAPReq(cred, APReqOptions{Bindings: tc.sent, AnnounceBindings: tc.announce})
			if err != nil {
				t.Fatal(err)
			}
			acc := r.acceptor(t)
			acc.Bindings, acc.RequireBindings = tc.expect, tc.require
			got, err := acc.VerifyAPReq(context.Background(), req.Message)
			if tc.bad {
				if !errors.Is(err, ErrBadBindings) || secpkg.StatusOf(err) != secpkg.StatusBadBindings {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err != nil || got.Bindings != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestDelegationOurs(t *testing.T) {
	r := realm(t)
	c := r.client(t)
	tgt := r.tgt(t)
	cred := r.serviceTicket(t, tgt, r.Service)
	fwd, err := c.GetForwardedTGT(testContext(t), tgt)
	if err != nil {
		t.Fatal(err)
	}
	req, err := NewAPReq(cred, APReqOptions{Flags: GSSMutual | GSSDeleg, MutualRequired: true, Delegate: fwd})
	if err != nil {
		t.Fatal(err)
	}
	if req.Flags&GSSDeleg == 0 {
		t.Fatal("deleg flag not set")
	}
	got, err := r.acceptor(t).VerifyAPReq(context.Background(), req.Message)
	if err != nil {
		t.Fatal(err)
	}
	d := got.Delegated
	if d == nil || got.Flags&GSSDeleg == 0 || !d.Client.Equal(tgt.Client) || !d.Server.IsTGS() || !d.Flags.Has(FlagForwarded) {
		t.Fatalf("delegated %v, flags %v", d, got.Flags)
	}
	// The acceptor uses the delegated TGT.
	r.serviceTicket(t, d, r.HTTPService)

	// Without delegation the flag is not sent even if asked for.
	req, _ = NewAPReq(cred, APReqOptions{Flags: GSSDeleg})
	got, err = r.acceptor(t).VerifyAPReq(context.Background(), req.Message)
	if err != nil || got.Flags&GSSDeleg != 0 || got.Delegated != nil {
		t.Fatalf("got %v, %v", got, err)
	}
	// Somebody else's TGT delegated: refused.
	bob, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User2), r.Password2, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ = NewAPReq(cred, APReqOptions{Delegate: bob})
	_, err = r.acceptor(t).VerifyAPReq(context.Background(), req.Message)
	if !errors.Is(err, APErrBadMatch) {
		t.Fatalf("got %v", err)
	}
	// The ok-as-delegate policy.
	strict := *c.Config
	strict.EnforceOKAsDelegate = true
	trusted := r.serviceTicket(t, tgt, r.DelegateService)
	if !trusted.Flags.Has(FlagOKAsDelegate) || cred.Flags.Has(FlagOKAsDelegate) ||
		!strict.MayDelegate(trusted.Flags) || strict.MayDelegate(cred.Flags) || !c.Config.MayDelegate(cred.Flags) {
		t.Fatalf("ok-as-delegate: %v / %v", trusted.Flags, cred.Flags)
	}
}

func TestPACFromMIT(t *testing.T) {
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	req, _ := NewAPReq(cred, APReqOptions{})
	got, err := r.acceptor(t).VerifyAPReq(context.Background(), req.Message)
	if err != nil {
		t.Fatal(err)
	}
	if got.PAC == nil {
		t.Skip("this KDC issues no PAC")
	}
	t.Logf("MIT PAC buffers %v, client %q, server checksum %d", got.PAC.Buffers, got.PAC.ClientName, got.PAC.ServerChecksumType)
	if got.PAC.ClientName != r.User || !got.PAC.ClientTime.Equal(got.AuthTime) {
		t.Fatalf("PAC %+v", got.PAC)
	}
}

// TestNoSecretsInLogs runs a whole exchange with debug logging on both
// sides and looks for the password and every key in the log, in every
// encoding a log line might use.
func TestNoSecretsInLogs(t *testing.T) {
	r := realm(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := r.client(t)
	c.Logger = logger
	tgt, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := c.Config.ServicePrincipal(r.ReferralService)
	cred, err := c.GetServiceTicket(testContext(t), tgt, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := NewAPReq(cred, APReqOptions{Flags: GSSMutual})
	acc := &Acceptor{Keytab: r.serviceKeytab(t), ReplayCache: &MemoryReplayCache{}, Logger: logger}
	got, err := acc.VerifyAPReq(context.Background(), req.Message)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := got.NewAPRep(APRepOptions{})
	logger.Debug("values", "tgt", tgt, "cred", cred, "accepted", got, "rep", rep, "req", req, "key", tgt.SessionKey)
	mu.Lock()
	log := buf.String()
	mu.Unlock()
	if !strings.Contains(log, "KDC requires pre-authentication") || !strings.Contains(log, "AP-REQ accepted") {
		t.Fatalf("debug log incomplete: %s", log)
	}
	secrets := [][]byte{[]byte(r.Password)}
	for _, k := range []Key{tgt.SessionKey, cred.SessionKey, req.Subkey, rep.Subkey} {
		secrets = append(secrets, k.Bytes())
	}
	for _, e := range r.serviceKeytab(t).Entries() {
		secrets = append(secrets, e.Key.Bytes())
	}
	for _, s := range secrets {
		for _, enc := range []string{string(s), hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s)),
			base64.StdEncoding.EncodeToString(s), fmt.Sprint(s)} {
			if len(enc) >= 8 && strings.Contains(log, enc) {
				t.Fatalf("a secret is in the log: %s", log)
			}
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestDelegationKRBCredKeys: the KRB-CRED in the GSS checksum may be
// encrypted in the session key (MIT, Windows), in the subkey (Heimdal),
// or not at all (etype 0: the authenticator around it is encrypted);
// any other key is refused.
func TestDelegationKRBCredKeys(t *testing.T) {
	r := realm(t)
	tgt := r.tgt(t)
	cred := r.serviceTicket(t, tgt, r.Service)
	fwd, err := r.client(t).GetForwardedTGT(testContext(t), tgt)
	if err != nil {
		t.Fatal(err)
	}
	subkey, _ := GenerateKey(cred.SessionKey.EType(), nil)
	other, _ := GenerateKey(cred.SessionKey.EType(), nil)
	for name, tc := range map[string]struct {
		key Key
		ok  bool
	}{
		"session key": {cred.SessionKey, true},
		"subkey":      {subkey, true},
		"unencrypted": {Key{}, true},
		"another key": {other, false},
	} {
		t.Run(name, func(t *testing.T) {
			kc, err := MarshalKRBCred(fwd, tc.key, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			msg := forgeAPReq(t, cred, 0, func(a *authenticator) {
				a.Subkey = subkey
				a.Cksum = &checksum{Type: ChecksumGSS, Sum: (&gssChecksum{Flags: GSSDeleg, Deleg: kc}).marshal()}
			})
			got, err := r.acceptor(t).VerifyAPReq(context.Background(), msg)
			if !tc.ok {
				if !errors.Is(err, APErrBadIntegrity) {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err != nil || got.Delegated == nil || !got.Delegated.SessionKey.Equal(fwd.SessionKey) {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
}
