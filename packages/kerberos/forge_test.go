package kerberos_test

// An attacker's workbench for the attack tests: real tickets from the
// realm's KDC (through internal/krb5), taken apart and rebuilt with
// gokrb5 (a second implementation, used by tests only), so that an
// AP-REQ can say what our own initiator never would: another realm in
// the authenticator, a PAC with an unkeyed signature, a ticket time.

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	gkcrypto "github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/opensspi/sspi/internal/gssframe"
	"github.com/opensspi/sspi/internal/krb5"
)

// forger holds alice's ticket for the realm's service, its session key
// and the service's keytab.
type forger struct {
	conf *krb5.Config
	kdc  *krb5.Client
	tgt  *krb5.Credential
	svc  *krb5.Credential
	kt   *keytab.Keytab
}

func newForger(t *testing.T, r *realm) *forger {
	t.Helper()
	conf, err := krb5.LoadConfig(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	f := &forger{conf: conf, kdc: &krb5.Client{Config: conf}}
	client, err := conf.Principal(r.User)
	if err != nil {
		t.Fatal(err)
	}
	if f.tgt, err = f.kdc.GetInitialCredentialsPassword(bg(t), client, r.Password, nil); err != nil {
		t.Fatal(err)
	}
	f.svc = f.ticket(t, r.Service)
	b, err := os.ReadFile(r.ServiceKeytab)
	if err != nil {
		t.Fatal(err)
	}
	f.kt = keytab.New()
	if err := f.kt.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	return f
}

// ticket is a fresh ticket of alice for service (host@localhost).
func (f *forger) ticket(t *testing.T, service string) *krb5.Credential {
	t.Helper()
	sp, err := f.conf.ServicePrincipal(service)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := f.kdc.GetServiceTicket(bg(t), f.tgt, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// gssChecksum is the RFC 4121 4.1.1 checksum: no bindings, flags.
func gssChecksum(flags uint32) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b, 16)
	binary.LittleEndian.PutUint32(b[20:], flags)
	return b
}

// apReq builds an AP-REQ (a context token) for svc with gokrb5, after
// edit has changed the ticket and the authenticator; with reticket, the
// ticket's encrypted part is decrypted with the service key, edited and
// encrypted again.
func (f *forger) apReq(t *testing.T, svc *krb5.Credential, editTicket func(*messages.EncTicketPart), editAuth func(*types.Authenticator)) []byte {
	t.Helper()
	var tkt messages.Ticket
	if err := tkt.Unmarshal(svc.Ticket); err != nil {
		t.Fatal(err)
	}
	if editTicket != nil {
		key, _, err := f.kt.GetEncryptionKey(tkt.SName, tkt.Realm, tkt.EncPart.KVNO, tkt.EncPart.EType)
		if err != nil {
			t.Fatal(err)
		}
		if err := tkt.Decrypt(key); err != nil {
			t.Fatal(err)
		}
		editTicket(&tkt.DecryptedEncPart)
		b, err := asn1.Marshal(tkt.DecryptedEncPart)
		if err != nil {
			t.Fatal(err)
		}
		b = asn1tools.AddASNAppTag(b, asnAppTag.EncTicketPart)
		ed, err := gkcrypto.GetEncryptedData(b, key, keyusage.KDC_REP_TICKET, tkt.EncPart.KVNO)
		if err != nil {
			t.Fatal(err)
		}
		// A fresh Ticket: gokrb5 would marshal the decrypted part too.
		tkt = messages.Ticket{TktVNO: tkt.TktVNO, Realm: tkt.Realm, SName: tkt.SName, EncPart: ed}
	}
	cname := types.PrincipalName{NameType: int32(svc.Client.Type), NameString: svc.Client.Components}
	auth, err := types.NewAuthenticator(svc.Client.Realm, cname)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	auth.CTime = now.Truncate(time.Second)
	auth.Cusec = now.Nanosecond() / 1000
	auth.Cksum = types.Checksum{CksumType: 0x8003, Checksum: gssChecksum(2 | 16 | 32)}
	if editAuth != nil {
		editAuth(&auth)
	}
	sk := types.EncryptionKey{KeyType: int32(svc.SessionKey.EType()), KeyValue: svc.SessionKey.Bytes()}
	req, err := messages.NewAPReq(tkt, sk, auth)
	if err != nil {
		t.Fatal(err)
	}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return gssframe.Marshal(gssframe.Kerberos, append([]byte{1, 0}, b...))
}

// asn1Marshal encodes with gokrb5's ASN.1 (gofork).
func asn1Marshal(v any) ([]byte, error) { return asn1.Marshal(v) }
