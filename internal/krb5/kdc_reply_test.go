package krb5

// Each check of a KDC reply, failing: a real reply from the MIT KDC is
// rewritten by an attacker between it and the client (Client.tamper) who
// knows the reply key (the password, or the TGT's session key), and the
// client must refuse it.

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// resealReply decrypts a KDC reply with key, lets edit change it, and
// encrypts it again (with usage, which the test may get wrong on purpose).
func resealReply(t *testing.T, rep []byte, key Key, decUsage, encUsage uint32, edit func(m *kdcRep, e *encKDCRepPart)) []byte {
	t.Helper()
	msg := msgASRep
	if messageType(rep) == tagTGSRep {
		msg = msgTGSRep
	}
	var m kdcRep
	if err := m.unmarshal(rep, msg); err != nil {
		t.Fatal(err)
	}
	pt, err := m.EncPart.open(key, decUsage)
	if err != nil {
		t.Fatal(err)
	}
	var e encKDCRepPart
	if err := e.unmarshal(pt); err != nil {
		t.Fatal(err)
	}
	if got := e.marshal(); string(got) != string(pt) {
		t.Fatalf("EncKDCRepPart does not re-encode to the KDC's bytes")
	}
	edit(&m, &e)
	ed, err := seal(key, encUsage, e.marshal(), m.EncPart.KVNO, m.EncPart.HasKVNO)
	if err != nil {
		t.Fatal(err)
	}
	m.EncPart = ed
	return m.marshal()
}

// retag replaces the plaintext part of a ticket.
func retag(t *testing.T, tk *ticket, sname Principal) {
	tk.SName = sname
	tk.Raw = tk.marshal()
}

func TestASReplyChecks(t *testing.T) {
	r := realm(t)
	alice := r.principal(t, r.User)
	aliceKey, err := StringToKey(AES256SHA1, r.Password, defaultSalt(alice), nil)
	if err != nil {
		t.Fatal(err)
	}
	other := TGSPrincipal("OTHER.TEST", r.Realm)
	cases := []struct {
		name     string
		encUsage uint32
		edit     func(m *kdcRep, e *encKDCRepPart)
		want     error
	}{
		{"untouched", usageASRep, func(*kdcRep, *encKDCRepPart) {}, nil},
		{"nonce", usageASRep, func(_ *kdcRep, e *encKDCRepPart) { e.Nonce ^= 1 }, ErrKDCReplyModified},
		{"encrypted sname", usageASRep, func(m *kdcRep, e *encKDCRepPart) {
			e.Server = other
			retag(t, &m.Ticket, other)
		}, ErrKDCReplyModified},
		{"plaintext ticket sname (Orpheus' Lyre)", usageASRep, func(m *kdcRep, _ *encKDCRepPart) { retag(t, &m.Ticket, other) }, ErrKDCReplyModified},
		{"encrypted srealm", usageASRep, func(m *kdcRep, e *encKDCRepPart) {
			e.Server.Realm = "OTHER.TEST"
			retag(t, &m.Ticket, e.Server)
		}, ErrKDCReplyModified},
		{"plaintext cname", usageASRep, func(m *kdcRep, _ *encKDCRepPart) { m.Client.Components = []string{"bob"} }, ErrKDCReplyModified},
		{"plaintext crealm", usageASRep, func(m *kdcRep, _ *encKDCRepPart) { m.Client.Realm = "OTHER.TEST" }, ErrKDCReplyModified},
		{"key usage 8, not 3", usageTGSRepSessionKey, func(*kdcRep, *encKDCRepPart) {}, ErrKDCReplyModified},
		{"endtime after till", usageASRep, func(_ *kdcRep, e *encKDCRepPart) { e.EndTime = e.EndTime.Add(48 * time.Hour) }, ErrKDCReplyModified},
		{"ends before it starts", usageASRep, func(_ *kdcRep, e *encKDCRepPart) { e.EndTime = e.AuthTime.Add(-time.Second) }, ErrKDCReplyModified},
		{"KDC clock an hour ahead", usageASRep, func(_ *kdcRep, e *encKDCRepPart) {
			e.AuthTime = e.AuthTime.Add(time.Hour)
			e.StartTime = time.Time{}
		}, ErrKDCReplySkew},
		{"session key of a type not permitted", usageASRep, func(_ *kdcRep, e *encKDCRepPart) {
			e.Key, _ = NewKey(RC4HMAC, make([]byte, 16))
		}, ErrKDCReplyModified},
		{"ciphertext flipped", usageASRep, func(m *kdcRep, _ *encKDCRepPart) {}, ErrKDCReplyModified},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := r.client(t)
			c.tamper = func(rep []byte) []byte {
				if messageType(rep) != tagASRep {
					return rep
				}
				out := resealReply(t, rep, aliceKey, usageASRep, tc.encUsage, tc.edit)
				if tc.name == "ciphertext flipped" {
					var m kdcRep
					_ = m.unmarshal(out, msgASRep)
					m.EncPart.Cipher[len(m.EncPart.Cipher)/2] ^= 1
					out = m.marshal()
				}
				return out
			}
			_, err := c.GetInitialCredentialsPassword(testContext(t), alice, r.Password, &ASOptions{ETypes: []EType{AES256SHA1}})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			st := secpkg.StatusLogonDenied
			if tc.want == ErrKDCReplySkew {
				st = secpkg.StatusTimeSkew
			}
			if secpkg.StatusOf(err) != st {
				t.Fatalf("status %v, want %v", secpkg.StatusOf(err), st)
			}
		})
	}
}

func TestASReplyETypeNotRequested(t *testing.T) {
	r := realm(t)
	alice := r.principal(t, r.User)
	k17, _ := StringToKey(AES128SHA1, r.Password, defaultSalt(alice), nil)
	k18, _ := StringToKey(AES256SHA1, r.Password, defaultSalt(alice), nil)
	c := r.client(t)
	c.tamper = func(rep []byte) []byte {
		if messageType(rep) != tagASRep {
			return rep
		}
		// Re-encrypt the reply with the aes128 key: a type not asked for.
		var m kdcRep
		_ = m.unmarshal(rep, msgASRep)
		pt, err := m.EncPart.open(k18, usageASRep)
		if err != nil {
			t.Fatal(err)
		}
		m.EncPart, _ = seal(k17, usageASRep, pt, 1, true)
		return m.marshal()
	}
	_, err := c.GetInitialCredentialsPassword(testContext(t), alice, r.Password, &ASOptions{ETypes: []EType{AES256SHA1}})
	if !errors.Is(err, ErrKDCReplyModified) {
		t.Fatalf("got %v", err)
	}
}

// TestASClockSkew moves this side's clock: carol needs no
// pre-authentication, so the KDC answers and the client must notice that
// the reply's time is far from its own; alice's PA-ENC-TIMESTAMP is
// refused by the KDC itself.
func TestASClockSkew(t *testing.T) {
	r := realm(t)
	for _, off := range []time.Duration{-time.Hour, time.Hour, 6 * time.Minute} {
		c := r.client(t)
		c.Time = func() time.Time { return time.Now().Add(off) }
		_, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.NoPreauthUser), r.NoPreauthPass, nil)
		if !errors.Is(err, ErrKDCReplySkew) || secpkg.StatusOf(err) != secpkg.StatusTimeSkew {
			t.Errorf("carol, clock %v: got %v", off, err)
		}
		_, err = c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil)
		if !errors.Is(err, APErrSkew) || secpkg.StatusOf(err) != secpkg.StatusTimeSkew {
			t.Errorf("alice, clock %v: got %v", off, err)
		}
	}
	// Inside the skew both work.
	c := r.client(t)
	c.Time = func() time.Time { return time.Now().Add(4 * time.Minute) }
	if _, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.NoPreauthUser), r.NoPreauthPass, nil); err != nil {
		t.Error(err)
	}
	if _, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil); err != nil {
		t.Error(err)
	}
}

func TestTGSReplyChecks(t *testing.T) {
	r := realm(t)
	tgt := r.tgt(t)
	svc := HostBasedService("host", "localhost", r.Realm)
	http := HostBasedService("HTTP", "localhost", r.Realm)
	cases := []struct {
		name     string
		encUsage uint32
		edit     func(m *kdcRep, e *encKDCRepPart)
		want     error
	}{
		{"untouched", usageTGSRepSessionKey, func(*kdcRep, *encKDCRepPart) {}, nil},
		{"nonce", usageTGSRepSessionKey, func(_ *kdcRep, e *encKDCRepPart) { e.Nonce++ }, ErrKDCReplyModified},
		{"plaintext ticket sname (Orpheus' Lyre)", usageTGSRepSessionKey, func(m *kdcRep, _ *encKDCRepPart) { retag(t, &m.Ticket, http) }, ErrKDCReplyModified},
		{"encrypted sname, both copies", usageTGSRepSessionKey, func(m *kdcRep, e *encKDCRepPart) {
			// An alias is acceptable only as a canonical name the KDC
			// gives; a TGT for our own realm is not an answer.
			e.Server = TGSPrincipal(r.Realm, r.Realm)
			retag(t, &m.Ticket, e.Server)
		}, ErrKDCReplyModified},
		{"srealm of another KDC", usageTGSRepSessionKey, func(m *kdcRep, e *encKDCRepPart) {
			e.Server.Realm = "OTHER.TEST"
			retag(t, &m.Ticket, e.Server)
		}, ErrKDCReplyModified},
		{"plaintext cname", usageTGSRepSessionKey, func(m *kdcRep, _ *encKDCRepPart) { m.Client.Components = []string{"bob"} }, ErrKDCReplyModified},
		{"key usage 9, not 8", usageTGSRepSubkey, func(*kdcRep, *encKDCRepPart) {}, ErrKDCReplyModified},
		{"KDC clock an hour behind", usageTGSRepSessionKey, func(_ *kdcRep, e *encKDCRepPart) {
			e.StartTime = e.StartTime.Add(-time.Hour)
		}, ErrKDCReplySkew},
		{"endtime after the TGT's", usageTGSRepSessionKey, func(_ *kdcRep, e *encKDCRepPart) { e.EndTime = e.EndTime.Add(time.Hour) }, ErrKDCReplyModified},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := r.client(t)
			c.tamper = func(rep []byte) []byte {
				if messageType(rep) != tagTGSRep {
					return rep
				}
				return resealReply(t, rep, tgt.SessionKey, usageTGSRepSessionKey, tc.encUsage, tc.edit)
			}
			cred, err := c.GetServiceTicket(testContext(t), tgt, svc, nil)
			if tc.want == nil {
				if err != nil || !cred.Server.Equal(svc) {
					t.Fatal(cred, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestTGSReferralLoop sends the client round in circles: the OTHER.TEST
// KDC's answer is rewritten into a referral back to OPENSSPI.TEST.
func TestTGSReferralLoop(t *testing.T) {
	r := realm(t)
	tgt := r.tgt(t)
	sp, err := r.config(t).ServicePrincipal(r.ReferralService)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	c := r.client(t)
	var crossKey Key
	c.tamper = func(rep []byte) []byte {
		switch n.Add(1) {
		case 1: // the genuine referral to OTHER.TEST: note its session key
			var m kdcRep
			_ = m.unmarshal(rep, msgTGSRep)
			pt, _ := m.EncPart.open(tgt.SessionKey, usageTGSRepSessionKey)
			var e encKDCRepPart
			_ = e.unmarshal(pt)
			crossKey = e.Key
			return rep
		case 2: // OTHER.TEST's ticket becomes a referral back home
			return resealReply(t, rep, crossKey, usageTGSRepSessionKey, usageTGSRepSessionKey, func(m *kdcRep, e *encKDCRepPart) {
				e.Server = TGSPrincipal(r.Realm, r.OtherRealm)
				retag(t, &m.Ticket, e.Server)
			})
		}
		return rep
	}
	_, err = c.GetServiceTicket(testContext(t), tgt, sp, nil)
	if err == nil || secpkg.StatusOf(err) != secpkg.StatusTargetUnknown || n.Load() != 2 {
		t.Fatalf("got %v after %d replies", err, n.Load())
	}
}

// TestASSaltFromETypeInfo2 logs in dave, whose keys have random salts
// that only the KDC's PA-ETYPE-INFO2 gives away.
func TestASSaltFromETypeInfo2(t *testing.T) {
	r := realm(t)
	if r.SaltedUser == "" {
		t.Skip("SSPI_KRB5_SALTED_USER not set (an older dev-realm.sh)")
	}
	dave := r.principal(t, r.SaltedUser)
	for _, e := range []EType{AES256SHA1, AES128SHA256} {
		if _, err := r.client(t).GetInitialCredentialsPassword(testContext(t), dave, r.SaltedPass, &ASOptions{ETypes: []EType{e}}); err != nil {
			t.Fatalf("%v: %v", e, err)
		}
	}
}

// TestASETypeInfo2Tampered rewrites the KDC's PA-ETYPE-INFO2: a wrong salt
// gives a key the KDC refuses (so the salt is used), an absurd iteration
// count is refused before any work.
func TestASETypeInfo2Tampered(t *testing.T) {
	r := realm(t)
	edit := func(f func(e *etypeInfo2Entry)) func([]byte) []byte {
		return func(rep []byte) []byte {
			if messageType(rep) != tagKRBError {
				return rep
			}
			var m krbError
			if err := m.unmarshal(rep); err != nil || m.Code != KDCErrPreauthRequired {
				return rep
			}
			md, err := parseMethodData(m.EData)
			if err != nil {
				t.Fatal(err)
			}
			for i, pa := range md {
				if pa.Type == paETypeInfo2 {
					l, err := parseETypeInfo2(pa.Data)
					if err != nil {
						t.Fatal(err)
					}
					for j := range l {
						f(&l[j])
					}
					md[i].Data = marshalETypeInfo2(l)
				}
			}
			m.EData = marshalMethodData(md)
			return m.marshal()
		}
	}
	c := r.client(t)
	c.tamper = edit(func(e *etypeInfo2Entry) { e.Salt, e.HasSalt = "WRONG.SALT", true })
	_, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil)
	if !errors.Is(err, KDCErrPreauthFailed) {
		t.Fatalf("wrong salt: %v", err)
	}
	c.tamper = edit(func(e *etypeInfo2Entry) { e.S2KParams = []byte{0xff, 0xff, 0xff, 0xff} })
	start := time.Now()
	_, err = c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil)
	if err == nil || !strings.Contains(err.Error(), "iteration count") || secpkg.StatusOf(err) != secpkg.StatusLogonDenied {
		t.Fatalf("huge iteration count: %v (after %v)", err, time.Since(start))
	}
	// The untouched exchange works.
	c.tamper = edit(func(*etypeInfo2Entry) {})
	if _, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil); err != nil {
		t.Fatal(err)
	}
}
