package krb5

// The Kerberos messages this package sends and receives (RFC 4120 5),
// each an unexported struct with marshal and unmarshal. Parsing is
// strict: DER only, no trailing bytes inside or after a message, no
// unknown fields, every sequence bounded, every required field present.
// Structures that a checksum or MAC covers keep their original bytes.

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Protocol version and message types (RFC 4120 5.10 and 7.5.7).
const (
	pvno = 5

	msgASReq    = 10
	msgASRep    = 11
	msgTGSReq   = 12
	msgTGSRep   = 13
	msgAPReq    = 14
	msgAPRep    = 15
	msgKRBCred  = 22
	msgKRBError = 30
)

// APPLICATION tags (RFC 4120 5.10).
const (
	tagTicket         = 1
	tagAuthenticator  = 2
	tagEncTicketPart  = 3
	tagASReq          = 10
	tagASRep          = 11
	tagTGSReq         = 12
	tagTGSRep         = 13
	tagAPReq          = 14
	tagAPRep          = 15
	tagKRBCred        = 22
	tagEncASRepPart   = 25
	tagEncTGSRepPart  = 26
	tagEncAPRepPart   = 27
	tagEncKrbCredPart = 29
	tagKRBError       = 30
)

// Bounds on what a peer can make us hold.
const (
	maxSeq         = 64      // elements of PA-DATA, addresses, authorization data, last-req
	maxETypes      = 32      // etype list of a KDC-REQ
	maxCredTickets = 4       // tickets in one KRB-CRED (GSS delegation sends one)
	maxBlob        = 1 << 20 // any OCTET STRING (a PAC can be large)
)

// Flags of a KDC-REQ (KDCOptions, RFC 4120 5.4.1), a ticket
// (TicketFlags, RFC 4120 5.3) and an AP-REQ (APOptions, RFC 4120 5.5.1)
// are bit strings whose bit n is 1<<(31-n) here.
func flagBit(n uint) uint32 { return 1 << (31 - n) }

// TicketFlags are a ticket's flags (RFC 4120 5.3, RFC 6806).
type TicketFlags uint32

// Ticket flags.
var (
	FlagForwardable   = TicketFlags(flagBit(1))
	FlagForwarded     = TicketFlags(flagBit(2))
	FlagProxiable     = TicketFlags(flagBit(3))
	FlagProxy         = TicketFlags(flagBit(4))
	FlagMayPostdate   = TicketFlags(flagBit(5))
	FlagPostdated     = TicketFlags(flagBit(6))
	FlagInvalid       = TicketFlags(flagBit(7))
	FlagRenewable     = TicketFlags(flagBit(8))
	FlagInitial       = TicketFlags(flagBit(9))
	FlagPreAuthent    = TicketFlags(flagBit(10))
	FlagHWAuthent     = TicketFlags(flagBit(11))
	FlagTransitPolicy = TicketFlags(flagBit(12)) // transited-policy-checked
	FlagOKAsDelegate  = TicketFlags(flagBit(13))
	FlagEncPARep      = TicketFlags(flagBit(15)) // RFC 6806 11
)

// Has reports whether every flag of g is set in f.
func (f TicketFlags) Has(g TicketFlags) bool { return f&g == g }

// String returns the flags as the letters of MIT's klist -f.
func (f TicketFlags) String() string {
	names := []struct {
		f TicketFlags
		c byte
	}{
		{FlagForwardable, 'F'}, {FlagForwarded, 'f'}, {FlagProxiable, 'P'}, {FlagProxy, 'p'},
		{FlagMayPostdate, 'D'}, {FlagPostdated, 'd'}, {FlagInvalid, 'i'}, {FlagRenewable, 'R'},
		{FlagInitial, 'I'}, {FlagPreAuthent, 'A'}, {FlagHWAuthent, 'H'}, {FlagTransitPolicy, 'T'},
		{FlagOKAsDelegate, 'O'},
	}
	b := make([]byte, 0, len(names))
	for _, n := range names {
		if f.Has(n.f) {
			b = append(b, n.c)
		}
	}
	return string(b) // klist -f letters
}

// KDC options (RFC 4120 5.4.1, RFC 6806 5).
var (
	kdcOptForwardable  = flagBit(1)
	kdcOptForwarded    = flagBit(2)
	kdcOptProxiable    = flagBit(3)
	kdcOptRenewable    = flagBit(8)
	kdcOptCanonicalize = flagBit(15)
	kdcOptRenewableOK  = flagBit(27)
)

// AP options (RFC 4120 5.5.1).
var (
	apOptUseSessionKey  = flagBit(1)
	apOptMutualRequired = flagBit(2)
)

// Authorization data and PA-DATA types (RFC 4120 7.5.4 and 7.5.2, MS-KILE).
const (
	adIfRelevant = 1   // AD-IF-RELEVANT
	adWin2kPAC   = 128 // AD-WIN2K-PAC (MS-PAC)
	adAPOptions  = 143 // AD-AUTH-DATA-AP-OPTIONS (MS-KILE 3.2.5.8)

	paTGSReq       = 1   // PA-TGS-REQ
	paEncTimestamp = 2   // PA-ENC-TIMESTAMP
	paPWSalt       = 3   // PA-PW-SALT
	paETypeInfo    = 11  // PA-ETYPE-INFO
	paETypeInfo2   = 19  // PA-ETYPE-INFO2
	paPACRequest   = 128 // PA-PAC-REQUEST (MS-KILE 2.2.3)
)

// encryptedData is EncryptedData (RFC 4120 5.2.9).
type encryptedData struct {
	EType   EType
	KVNO    uint32
	HasKVNO bool
	Cipher  []byte
}

func (e *encryptedData) reader() reader {
	return sequence(func(s *cryptobyte.String) bool {
		var et int32
		if !fieldInt32(s, 0, &et) || !optUint32(s, 1, &e.HasKVNO, &e.KVNO) ||
			!fieldOctets(s, 2, &e.Cipher, maxBlob) {
			return false
		}
		e.EType = EType(et)
		return true
	})
}

func (e *encryptedData) add(b *builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, int64(e.EType)) })
		if e.HasKVNO {
			addField(b, 1, func(b *builder) { addInt(b, int64(e.KVNO)) })
		}
		addField(b, 2, func(b *builder) { addOctets(b, e.Cipher) })
	})
}

func (e *encryptedData) marshal() []byte {
	var b builder
	e.add(&b)
	return b.BytesOrPanic()
}

// seal returns plaintext encrypted under k for usage as EncryptedData.
func seal(k Key, usage uint32, plaintext []byte, kvno uint32, hasKVNO bool) (encryptedData, error) {
	ct, err := k.encrypt(usage, plaintext)
	if err != nil {
		return encryptedData{}, err
	}
	return encryptedData{EType: k.EType(), KVNO: kvno, HasKVNO: hasKVNO, Cipher: ct}, nil
}

// open decrypts e under k for usage. The key's type must be e's.
func (e *encryptedData) open(k Key, usage uint32) ([]byte, error) {
	if e.EType != k.EType() {
		return nil, fmt.Errorf("krb5: ciphertext of type %v for a %v key", e.EType, k.EType())
	}
	return k.decrypt(usage, e.Cipher)
}

// keyReader reads an EncryptionKey (RFC 4120 5.2.9) of a supported type.
func keyReader(k *Key) reader {
	return sequence(func(s *cryptobyte.String) bool {
		var t int32
		var v cryptobyte.String
		if !fieldInt32(s, 0, &t) {
			return false
		}
		f, ok := fieldContents(s, 1)
		if !ok || !f.ReadASN1(&v, cbasn1.OCTET_STRING) || len(v) > maxKeyLength || !f.Empty() {
			return false
		}
		key, err := NewKey(EType(t), v) // copies v (a slice of the plaintext)
		if err != nil || !EType(t).Supported() {
			return false
		}
		*k = key
		return true
	})
}

func addKey(b *builder, k Key) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, int64(k.EType())) })
		addField(b, 1, func(b *builder) { addOctets(b, k.m.value) })
	})
}

// checksum is Checksum (RFC 4120 5.2.9).
type checksum struct {
	Type ChecksumType
	Sum  []byte
}

func (c *checksum) reader() reader {
	return sequence(func(s *cryptobyte.String) bool {
		var t int32
		if !fieldInt32(s, 0, &t) || !fieldOctets(s, 1, &c.Sum, maxBlob) {
			return false
		}
		c.Type = ChecksumType(t)
		return true
	})
}

func (c *checksum) add(b *builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, int64(c.Type)) })
		addField(b, 1, func(b *builder) { addOctets(b, c.Sum) })
	})
}

// typedData is the shape of PA-DATA (RFC 4120 5.2.7, tags [1] and [2]),
// HostAddress and one element of AuthorizationData (tags [0] and [1]).
type typedData struct {
	Type int32
	Data []byte
}

func typedDataReader(list *[]typedData, first uint8) reader {
	return sequence(func(s *cryptobyte.String) bool {
		var d typedData
		if !fieldInt32(s, first, &d.Type) || !fieldOctets(s, first+1, &d.Data, maxBlob) {
			return false
		}
		*list = append(*list, d)
		return true
	})
}

func typedDataSeqReader(list *[]typedData, first uint8) reader {
	return sequenceOf(maxSeq, typedDataReader(list, first))
}

func addTypedDataSeq(b *builder, list []typedData, first uint8) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
		for _, d := range list {
			b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
				addField(b, first, func(b *builder) { addInt(b, int64(d.Type)) })
				addField(b, first+1, func(b *builder) { addOctets(b, d.Data) })
			})
		}
	})
}

// ticket is a Ticket (RFC 4120 5.3). Raw holds the bytes it was parsed
// from, which are sent on unchanged.
type ticket struct {
	SName   Principal // sname and realm: plaintext, NOT authoritative
	EncPart encryptedData
	Raw     []byte
}

func ticketReader(t *ticket) reader {
	return func(s *cryptobyte.String) bool {
		var el cryptobyte.String
		if !s.ReadASN1Element(&el, appTag(tagTicket)) {
			return false
		}
		t.Raw = append([]byte{}, el...)
		return application(tagTicket, sequence(func(s *cryptobyte.String) bool {
			return fieldIntEquals(s, 0, pvno) && fieldString(s, 1, &t.SName.Realm) &&
				field(s, 2, principalNameReader(&t.SName)) && field(s, 3, t.EncPart.reader())
		}))(&el)
	}
}

func parseTicket(b []byte) (ticket, error) {
	var t ticket
	s := cryptobyte.String(b)
	if !ticketReader(&t)(&s) || !s.Empty() {
		return ticket{}, errors.New("krb5: malformed ticket")
	}
	return t, nil
}

func (t *ticket) marshal() []byte {
	var b builder
	addApplication(&b, tagTicket, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, pvno) })
		addField(b, 1, func(b *builder) { addString(b, t.SName.Realm) })
		addField(b, 2, func(b *builder) { addPrincipalName(b, t.SName) })
		addField(b, 3, t.EncPart.add)
	})
	return b.BytesOrPanic()
}

// encTicketPart is EncTicketPart (RFC 4120 5.3).
type encTicketPart struct {
	Flags     TicketFlags
	Key       Key
	Client    Principal // crealm and cname
	TrType    int32
	Transited []byte
	AuthTime  time.Time
	StartTime time.Time // zero if absent
	EndTime   time.Time
	RenewTill time.Time // zero if absent
	CAddr     []typedData
	AuthData  []typedData
}

func (e *encTicketPart) unmarshal(b []byte) error {
	s := cryptobyte.String(b)
	var flags uint32
	ok := application(tagEncTicketPart, sequence(func(s *cryptobyte.String) bool {
		return fieldFlags(s, 0, &flags) &&
			field(s, 1, keyReader(&e.Key)) &&
			fieldString(s, 2, &e.Client.Realm) &&
			field(s, 3, principalNameReader(&e.Client)) &&
			field(s, 4, sequence(func(s *cryptobyte.String) bool {
				return fieldInt32(s, 0, &e.TrType) && fieldOctets(s, 1, &e.Transited, maxBlob)
			})) &&
			fieldTime(s, 5, &e.AuthTime) &&
			optTime(s, 6, nil, &e.StartTime) &&
			fieldTime(s, 7, &e.EndTime) &&
			optTime(s, 8, nil, &e.RenewTill) &&
			optField(s, 9, nil, typedDataSeqReader(&e.CAddr, 0)) &&
			optField(s, 10, nil, typedDataSeqReader(&e.AuthData, 0))
	}))(&s)
	if !ok || !s.Empty() {
		return errors.New("krb5: malformed EncTicketPart")
	}
	e.Flags = TicketFlags(flags)
	return nil
}

func (e *encTicketPart) marshal() []byte {
	var b builder
	addApplication(&b, tagEncTicketPart, func(b *builder) {
		addField(b, 0, func(b *builder) { addFlags(b, uint32(e.Flags)) })
		addField(b, 1, func(b *builder) { addKey(b, e.Key) })
		addField(b, 2, func(b *builder) { addString(b, e.Client.Realm) })
		addField(b, 3, func(b *builder) { addPrincipalName(b, e.Client) })
		addField(b, 4, func(b *builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
				addField(b, 0, func(b *builder) { addInt(b, int64(e.TrType)) })
				addField(b, 1, func(b *builder) { addOctets(b, e.Transited) })
			})
		})
		addField(b, 5, func(b *builder) { addTime(b, e.AuthTime) })
		if !e.StartTime.IsZero() {
			addField(b, 6, func(b *builder) { addTime(b, e.StartTime) })
		}
		addField(b, 7, func(b *builder) { addTime(b, e.EndTime) })
		if !e.RenewTill.IsZero() {
			addField(b, 8, func(b *builder) { addTime(b, e.RenewTill) })
		}
		if e.CAddr != nil {
			addField(b, 9, func(b *builder) { addTypedDataSeq(b, e.CAddr, 0) })
		}
		if e.AuthData != nil {
			addField(b, 10, func(b *builder) { addTypedDataSeq(b, e.AuthData, 0) })
		}
	})
	return b.BytesOrPanic()
}

// authenticator is an Authenticator (RFC 4120 5.5.1).
type authenticator struct {
	Client    Principal // crealm and cname
	Cksum     *checksum
	Cusec     int32
	CTime     time.Time
	Subkey    Key // zero if absent
	SeqNumber uint32
	HasSeq    bool
	AuthData  []typedData
}

func (a *authenticator) unmarshal(b []byte) error {
	s := cryptobyte.String(b)
	var hasCksum bool
	var ck checksum
	ok := application(tagAuthenticator, sequence(func(s *cryptobyte.String) bool {
		return fieldIntEquals(s, 0, pvno) &&
			fieldString(s, 1, &a.Client.Realm) &&
			field(s, 2, principalNameReader(&a.Client)) &&
			optField(s, 3, &hasCksum, ck.reader()) &&
			fieldMicroseconds(s, 4, &a.Cusec) &&
			fieldTime(s, 5, &a.CTime) &&
			optField(s, 6, nil, keyReader(&a.Subkey)) &&
			optUint32(s, 7, &a.HasSeq, &a.SeqNumber) &&
			optField(s, 8, nil, typedDataSeqReader(&a.AuthData, 0))
	}))(&s)
	if !ok || !s.Empty() {
		return errors.New("krb5: malformed authenticator")
	}
	if hasCksum {
		a.Cksum = &ck
	}
	return nil
}

func (a *authenticator) marshal() []byte {
	b := newBuilder(256)
	addApplication(b, tagAuthenticator, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, pvno) })
		addField(b, 1, func(b *builder) { addString(b, a.Client.Realm) })
		addField(b, 2, func(b *builder) { addPrincipalName(b, a.Client) })
		if a.Cksum != nil {
			addField(b, 3, a.Cksum.add)
		}
		addField(b, 4, func(b *builder) { addInt(b, int64(a.Cusec)) })
		addField(b, 5, func(b *builder) { addTime(b, a.CTime) })
		if !a.Subkey.IsZero() {
			addField(b, 6, func(b *builder) { addKey(b, a.Subkey) })
		}
		if a.HasSeq {
			addField(b, 7, func(b *builder) { addInt(b, int64(a.SeqNumber)) })
		}
		if a.AuthData != nil {
			addField(b, 8, func(b *builder) { addTypedDataSeq(b, a.AuthData, 0) })
		}
	})
	return b.BytesOrPanic()
}

// apReq is KRB_AP_REQ (RFC 4120 5.5.1).
type apReq struct {
	Options       uint32
	Ticket        ticket
	Authenticator encryptedData
}

func (m *apReq) unmarshal(b []byte) error {
	s := cryptobyte.String(b)
	ok := application(tagAPReq, sequence(func(s *cryptobyte.String) bool {
		return fieldIntEquals(s, 0, pvno) && fieldIntEquals(s, 1, msgAPReq) &&
			fieldFlags(s, 2, &m.Options) && field(s, 3, ticketReader(&m.Ticket)) &&
			field(s, 4, m.Authenticator.reader())
	}))(&s)
	if !ok || !s.Empty() {
		return errors.New("krb5: malformed AP-REQ")
	}
	return nil
}

func (m *apReq) marshal() []byte {
	b := newBuilder(len(m.Ticket.Raw) + len(m.Authenticator.Cipher) + 64)
	addApplication(b, tagAPReq, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, pvno) })
		addField(b, 1, func(b *builder) { addInt(b, msgAPReq) })
		addField(b, 2, func(b *builder) { addFlags(b, m.Options) })
		addField(b, 3, func(b *builder) { b.AddBytes(m.Ticket.Raw) })
		addField(b, 4, m.Authenticator.add)
	})
	return b.BytesOrPanic()
}

// apRep is KRB_AP_REP (RFC 4120 5.5.2).
type apRep struct {
	EncPart encryptedData
}

func (m *apRep) unmarshal(b []byte) error {
	s := cryptobyte.String(b)
	ok := application(tagAPRep, sequence(func(s *cryptobyte.String) bool {
		return fieldIntEquals(s, 0, pvno) && fieldIntEquals(s, 1, msgAPRep) && field(s, 2, m.EncPart.reader())
	}))(&s)
	if !ok || !s.Empty() {
		return errors.New("krb5: malformed AP-REP")
	}
	return nil
}

func (m *apRep) marshal() []byte {
	b := newBuilder(len(m.EncPart.Cipher) + 32)
	addApplication(b, tagAPRep, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, pvno) })
		addField(b, 1, func(b *builder) { addInt(b, msgAPRep) })
		addField(b, 2, m.EncPart.add)
	})
	return b.BytesOrPanic()
}

// encAPRepPart is EncAPRepPart (RFC 4120 5.5.2).
type encAPRepPart struct {
	CTime     time.Time
	Cusec     int32
	Subkey    Key // zero if absent
	SeqNumber uint32
	HasSeq    bool
}

func (e *encAPRepPart) unmarshal(b []byte) error {
	s := cryptobyte.String(b)
	ok := application(tagEncAPRepPart, sequence(func(s *cryptobyte.String) bool {
		return fieldTime(s, 0, &e.CTime) && fieldMicroseconds(s, 1, &e.Cusec) &&
			optField(s, 2, nil, keyReader(&e.Subkey)) && optUint32(s, 3, &e.HasSeq, &e.SeqNumber)
	}))(&s)
	if !ok || !s.Empty() {
		return errors.New("krb5: malformed EncAPRepPart")
	}
	return nil
}

func (e *encAPRepPart) marshal() []byte {
	b := newBuilder(128)
	addApplication(b, tagEncAPRepPart, func(b *builder) {
		addField(b, 0, func(b *builder) { addTime(b, e.CTime) })
		addField(b, 1, func(b *builder) { addInt(b, int64(e.Cusec)) })
		if !e.Subkey.IsZero() {
			addField(b, 2, func(b *builder) { addKey(b, e.Subkey) })
		}
		if e.HasSeq {
			addField(b, 3, func(b *builder) { addInt(b, int64(e.SeqNumber)) })
		}
	})
	return b.BytesOrPanic()
}

// kdcReqBody is KDC-REQ-BODY (RFC 4120 5.4.1); this package only builds
// it (the KDC parses it).
type kdcReqBody struct {
	Options uint32
	CName   *Principal // AS-REQ only; its realm is not encoded
	Realm   string
	SName   *Principal
	Till    time.Time
	RTime   time.Time // zero if absent
	Nonce   uint32
	ETypes  []EType
	AddlTkt [][]byte // additional-tickets, raw Tickets
}

func (r *kdcReqBody) marshal() []byte {
	var b builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
		addField(b, 0, func(b *builder) { addFlags(b, r.Options) })
		if r.CName != nil {
			addField(b, 1, func(b *builder) { addPrincipalName(b, *r.CName) })
		}
		addField(b, 2, func(b *builder) { addString(b, r.Realm) })
		if r.SName != nil {
			addField(b, 3, func(b *builder) { addPrincipalName(b, *r.SName) })
		}
		addField(b, 5, func(b *builder) { addTime(b, r.Till) })
		if !r.RTime.IsZero() {
			addField(b, 6, func(b *builder) { addTime(b, r.RTime) })
		}
		addField(b, 7, func(b *builder) { addInt(b, int64(r.Nonce)) })
		addField(b, 8, func(b *builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
				for _, e := range r.ETypes {
					addInt(b, int64(e))
				}
			})
		})
		if len(r.AddlTkt) > 0 {
			addField(b, 11, func(b *builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
					for _, t := range r.AddlTkt {
						b.AddBytes(t)
					}
				})
			})
		}
	})
	return b.BytesOrPanic()
}

// marshalKDCReq builds an AS-REQ or TGS-REQ (RFC 4120 5.4.1) around the
// encoded body (the bytes the PA-TGS-REQ checksum covers).
func marshalKDCReq(msgType int, padata []typedData, body []byte) []byte {
	tag := uint8(tagASReq)
	if msgType == msgTGSReq {
		tag = tagTGSReq
	}
	var b builder
	addApplication(&b, tag, func(b *builder) {
		addField(b, 1, func(b *builder) { addInt(b, pvno) })
		addField(b, 2, func(b *builder) { addInt(b, int64(msgType)) })
		if len(padata) > 0 {
			addField(b, 3, func(b *builder) { addTypedDataSeq(b, padata, 1) })
		}
		addField(b, 4, func(b *builder) { b.AddBytes(body) })
	})
	return b.BytesOrPanic()
}

// kdcRep is an AS-REP or TGS-REP (RFC 4120 5.4.2).
type kdcRep struct {
	MsgType int
	PAData  []typedData
	Client  Principal // crealm and cname: plaintext
	Ticket  ticket
	EncPart encryptedData
}

func (m *kdcRep) unmarshal(b []byte, msgType int) error {
	tag := uint8(tagASRep)
	if msgType == msgTGSRep {
		tag = tagTGSRep
	}
	s := cryptobyte.String(b)
	ok := application(tag, sequence(func(s *cryptobyte.String) bool {
		return fieldIntEquals(s, 0, pvno) && field(s, 1, intEquals(int64(msgType))) &&
			optField(s, 2, nil, typedDataSeqReader(&m.PAData, 1)) &&
			fieldString(s, 3, &m.Client.Realm) && field(s, 4, principalNameReader(&m.Client)) &&
			field(s, 5, ticketReader(&m.Ticket)) && field(s, 6, m.EncPart.reader())
	}))(&s)
	if !ok || !s.Empty() {
		return fmt.Errorf("krb5: malformed %s", msgName(msgType))
	}
	m.MsgType = msgType
	return nil
}

func (m *kdcRep) marshal() []byte {
	tag := uint8(tagASRep)
	if m.MsgType == msgTGSRep {
		tag = tagTGSRep
	}
	var b builder
	addApplication(&b, tag, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, pvno) })
		addField(b, 1, func(b *builder) { addInt(b, int64(m.MsgType)) })
		if len(m.PAData) > 0 {
			addField(b, 2, func(b *builder) { addTypedDataSeq(b, m.PAData, 1) })
		}
		addField(b, 3, func(b *builder) { addString(b, m.Client.Realm) })
		addField(b, 4, func(b *builder) { addPrincipalName(b, m.Client) })
		addField(b, 5, func(b *builder) { b.AddBytes(m.Ticket.Raw) })
		addField(b, 6, m.EncPart.add)
	})
	return b.BytesOrPanic()
}

func msgName(t int) string {
	switch t {
	case msgASReq:
		return "AS-REQ"
	case msgASRep:
		return "AS-REP"
	case msgTGSReq:
		return "TGS-REQ"
	case msgTGSRep:
		return "TGS-REP"
	case msgAPReq:
		return "AP-REQ"
	case msgAPRep:
		return "AP-REP"
	case msgKRBCred:
		return "KRB-CRED"
	case msgKRBError:
		return "KRB-ERROR"
	}
	return fmt.Sprintf("message type %d", t)
}

// encKDCRepPart is EncKDCRepPart (RFC 4120 5.4.2, RFC 6806 11), the
// authoritative half of a KDC reply.
type encKDCRepPart struct {
	Tag       uint8 // 25 (EncASRepPart) or 26 (EncTGSRepPart)
	Key       Key
	Nonce     uint32
	KeyExp    time.Time
	Flags     TicketFlags
	AuthTime  time.Time
	StartTime time.Time // zero if absent
	EndTime   time.Time
	RenewTill time.Time // zero if absent
	Server    Principal // srealm and sname
	CAddr     []typedData
	EncPAData []typedData
	LastReq   []lastReq
}

// lastReq is one entry of LastReq (RFC 4120 5.4.2).
type lastReq struct {
	Type  int32
	Value time.Time
}

func (e *encKDCRepPart) unmarshal(b []byte) error {
	s := cryptobyte.String(b)
	switch {
	case s.PeekASN1Tag(appTag(tagEncASRepPart)):
		e.Tag = tagEncASRepPart
	case s.PeekASN1Tag(appTag(tagEncTGSRepPart)):
		e.Tag = tagEncTGSRepPart
	default:
		return errors.New("krb5: malformed EncKDCRepPart")
	}
	var flags uint32
	ok := application(e.Tag, sequence(func(s *cryptobyte.String) bool {
		return field(s, 0, keyReader(&e.Key)) &&
			field(s, 1, sequenceOf(maxSeq, sequence(func(s *cryptobyte.String) bool {
				var lr lastReq
				if !fieldInt32(s, 0, &lr.Type) || !fieldTime(s, 1, &lr.Value) {
					return false
				}
				e.LastReq = append(e.LastReq, lr)
				return true
			}))) &&
			fieldUint32(s, 2, &e.Nonce) &&
			optTime(s, 3, nil, &e.KeyExp) &&
			fieldFlags(s, 4, &flags) &&
			fieldTime(s, 5, &e.AuthTime) &&
			optTime(s, 6, nil, &e.StartTime) &&
			fieldTime(s, 7, &e.EndTime) &&
			optTime(s, 8, nil, &e.RenewTill) &&
			fieldString(s, 9, &e.Server.Realm) &&
			field(s, 10, principalNameReader(&e.Server)) &&
			optField(s, 11, nil, typedDataSeqReader(&e.CAddr, 0)) &&
			optField(s, 12, nil, typedDataSeqReader(&e.EncPAData, 1))
	}))(&s)
	if !ok || !s.Empty() {
		return errors.New("krb5: malformed EncKDCRepPart")
	}
	e.Flags = TicketFlags(flags)
	return nil
}

func (e *encKDCRepPart) marshal() []byte {
	var b builder
	addApplication(&b, e.Tag, func(b *builder) {
		addField(b, 0, func(b *builder) { addKey(b, e.Key) })
		addField(b, 1, func(b *builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
				for _, lr := range e.LastReq {
					b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
						addField(b, 0, func(b *builder) { addInt(b, int64(lr.Type)) })
						addField(b, 1, func(b *builder) { addTime(b, lr.Value) })
					})
				}
			})
		})
		addField(b, 2, func(b *builder) { addInt(b, int64(e.Nonce)) })
		if !e.KeyExp.IsZero() {
			addField(b, 3, func(b *builder) { addTime(b, e.KeyExp) })
		}
		addField(b, 4, func(b *builder) { addFlags(b, uint32(e.Flags)) })
		addField(b, 5, func(b *builder) { addTime(b, e.AuthTime) })
		if !e.StartTime.IsZero() {
			addField(b, 6, func(b *builder) { addTime(b, e.StartTime) })
		}
		addField(b, 7, func(b *builder) { addTime(b, e.EndTime) })
		if !e.RenewTill.IsZero() {
			addField(b, 8, func(b *builder) { addTime(b, e.RenewTill) })
		}
		addField(b, 9, func(b *builder) { addString(b, e.Server.Realm) })
		addField(b, 10, func(b *builder) { addPrincipalName(b, e.Server) })
		if e.CAddr != nil {
			addField(b, 11, func(b *builder) { addTypedDataSeq(b, e.CAddr, 0) })
		}
		if e.EncPAData != nil {
			addField(b, 12, func(b *builder) { addTypedDataSeq(b, e.EncPAData, 1) })
		}
	})
	return b.BytesOrPanic()
}

// krbError is KRB-ERROR (RFC 4120 5.9.1).
type krbError struct {
	CTime  time.Time // zero if absent
	Cusec  int32
	STime  time.Time
	Susec  int32
	Code   ErrorCode
	Client *Principal // crealm and cname, if present
	Server Principal  // realm and sname
	EText  string
	EData  []byte
}

func (m *krbError) unmarshal(b []byte) error {
	s := cryptobyte.String(b)
	var code int32
	var hasCRealm, hasCName bool
	var client Principal
	ok := application(tagKRBError, sequence(func(s *cryptobyte.String) bool {
		return fieldIntEquals(s, 0, pvno) && fieldIntEquals(s, 1, msgKRBError) &&
			optTime(s, 2, nil, &m.CTime) &&
			optMicroseconds(s, 3, nil, &m.Cusec) &&
			fieldTime(s, 4, &m.STime) &&
			fieldMicroseconds(s, 5, &m.Susec) &&
			fieldInt32(s, 6, &code) &&
			optString(s, 7, &hasCRealm, &client.Realm) &&
			optField(s, 8, &hasCName, principalNameReader(&client)) &&
			fieldString(s, 9, &m.Server.Realm) &&
			field(s, 10, principalNameReader(&m.Server)) &&
			optText(s, 11, nil, &m.EText) &&
			optOctets(s, 12, nil, &m.EData, maxBlob)
	}))(&s)
	if !ok || !s.Empty() {
		return errors.New("krb5: malformed KRB-ERROR")
	}
	m.Code = ErrorCode(code)
	if hasCName {
		m.Client = &client
	}
	return nil
}

func (m *krbError) marshal() []byte {
	var b builder
	addApplication(&b, tagKRBError, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, pvno) })
		addField(b, 1, func(b *builder) { addInt(b, msgKRBError) })
		if !m.CTime.IsZero() {
			addField(b, 2, func(b *builder) { addTime(b, m.CTime) })
			addField(b, 3, func(b *builder) { addInt(b, int64(m.Cusec)) })
		}
		addField(b, 4, func(b *builder) { addTime(b, m.STime) })
		addField(b, 5, func(b *builder) { addInt(b, int64(m.Susec)) })
		addField(b, 6, func(b *builder) { addInt(b, int64(m.Code)) })
		if m.Client != nil {
			addField(b, 7, func(b *builder) { addString(b, m.Client.Realm) })
			addField(b, 8, func(b *builder) { addPrincipalName(b, *m.Client) })
		}
		addField(b, 9, func(b *builder) { addString(b, m.Server.Realm) })
		addField(b, 10, func(b *builder) { addPrincipalName(b, m.Server) })
		if m.EText != "" {
			addField(b, 11, func(b *builder) { addString(b, m.EText) })
		}
		if m.EData != nil {
			addField(b, 12, func(b *builder) { addOctets(b, m.EData) })
		}
	})
	return b.BytesOrPanic()
}

// krbCred is KRB-CRED (RFC 4120 5.8.1).
type krbCred struct {
	Tickets []ticket
	EncPart encryptedData
}

func (m *krbCred) unmarshal(b []byte) error {
	s := cryptobyte.String(b)
	ok := application(tagKRBCred, sequence(func(s *cryptobyte.String) bool {
		return fieldIntEquals(s, 0, pvno) && fieldIntEquals(s, 1, msgKRBCred) &&
			field(s, 2, sequenceOf(maxCredTickets, func(s *cryptobyte.String) bool {
				var t ticket
				if !ticketReader(&t)(s) {
					return false
				}
				m.Tickets = append(m.Tickets, t)
				return true
			})) &&
			field(s, 3, m.EncPart.reader())
	}))(&s)
	if !ok || !s.Empty() {
		return errors.New("krb5: malformed KRB-CRED")
	}
	return nil
}

func (m *krbCred) marshal() []byte {
	var b builder
	addApplication(&b, tagKRBCred, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, pvno) })
		addField(b, 1, func(b *builder) { addInt(b, msgKRBCred) })
		addField(b, 2, func(b *builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
				for _, t := range m.Tickets {
					b.AddBytes(t.Raw)
				}
			})
		})
		addField(b, 3, m.EncPart.add)
	})
	return b.BytesOrPanic()
}

// krbCredInfo is KrbCredInfo (RFC 4120 5.8.1): every field but the key is
// optional.
type krbCredInfo struct {
	Key       Key
	Client    *Principal // prealm and pname
	Flags     TicketFlags
	HasFlags  bool
	AuthTime  time.Time
	StartTime time.Time
	EndTime   time.Time
	RenewTill time.Time
	Server    *Principal // srealm and sname
	CAddr     []typedData
}

// encKrbCredPart is EncKrbCredPart (RFC 4120 5.8.1).
type encKrbCredPart struct {
	Info      []krbCredInfo
	Nonce     uint32
	HasNonce  bool
	Timestamp time.Time
	Usec      int32
	HasUsec   bool
}

func (e *encKrbCredPart) unmarshal(b []byte) error {
	s := cryptobyte.String(b)
	var sAddr, rAddr []typedData
	ok := application(tagEncKrbCredPart, sequence(func(s *cryptobyte.String) bool {
		return field(s, 0, sequenceOf(maxCredTickets, func(s *cryptobyte.String) bool {
			var ci krbCredInfo
			var pr, sr Principal
			var hasPRealm, hasPName, hasSRealm, hasSName bool
			var flags uint32
			if !sequence(func(s *cryptobyte.String) bool {
				return field(s, 0, keyReader(&ci.Key)) &&
					optString(s, 1, &hasPRealm, &pr.Realm) &&
					optField(s, 2, &hasPName, principalNameReader(&pr)) &&
					optFlags(s, 3, &ci.HasFlags, &flags) &&
					optTime(s, 4, nil, &ci.AuthTime) &&
					optTime(s, 5, nil, &ci.StartTime) &&
					optTime(s, 6, nil, &ci.EndTime) &&
					optTime(s, 7, nil, &ci.RenewTill) &&
					optString(s, 8, &hasSRealm, &sr.Realm) &&
					optField(s, 9, &hasSName, principalNameReader(&sr)) &&
					optField(s, 10, nil, typedDataSeqReader(&ci.CAddr, 0))
			})(s) {
				return false
			}
			ci.Flags = TicketFlags(flags)
			if hasPName {
				ci.Client = &pr
			}
			if hasSName {
				ci.Server = &sr
			}
			e.Info = append(e.Info, ci)
			return true
		})) &&
			optUint32(s, 1, &e.HasNonce, &e.Nonce) &&
			optTime(s, 2, nil, &e.Timestamp) &&
			optMicroseconds(s, 3, &e.HasUsec, &e.Usec) &&
			optField(s, 4, nil, typedDataReader(&sAddr, 0)) &&
			optField(s, 5, nil, typedDataReader(&rAddr, 0))
	}))(&s)
	if !ok || !s.Empty() {
		return errors.New("krb5: malformed EncKrbCredPart")
	}
	return nil
}

func (e *encKrbCredPart) marshal() []byte {
	var b builder
	addApplication(&b, tagEncKrbCredPart, func(b *builder) {
		addField(b, 0, func(b *builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
				for _, ci := range e.Info {
					b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
						addField(b, 0, func(b *builder) { addKey(b, ci.Key) })
						if ci.Client != nil {
							addField(b, 1, func(b *builder) { addString(b, ci.Client.Realm) })
							addField(b, 2, func(b *builder) { addPrincipalName(b, *ci.Client) })
						}
						if ci.HasFlags {
							addField(b, 3, func(b *builder) { addFlags(b, uint32(ci.Flags)) })
						}
						for i, t := range []time.Time{ci.AuthTime, ci.StartTime, ci.EndTime, ci.RenewTill} {
							if !t.IsZero() {
								addField(b, uint8(4+i), func(b *builder) { addTime(b, t) })
							}
						}
						if ci.Server != nil {
							addField(b, 8, func(b *builder) { addString(b, ci.Server.Realm) })
							addField(b, 9, func(b *builder) { addPrincipalName(b, *ci.Server) })
						}
						if ci.CAddr != nil {
							addField(b, 10, func(b *builder) { addTypedDataSeq(b, ci.CAddr, 0) })
						}
					})
				}
			})
		})
		if e.HasNonce {
			addField(b, 1, func(b *builder) { addInt(b, int64(e.Nonce)) })
		}
		if !e.Timestamp.IsZero() {
			addField(b, 2, func(b *builder) { addTime(b, e.Timestamp) })
		}
		if e.HasUsec {
			addField(b, 3, func(b *builder) { addInt(b, int64(e.Usec)) })
		}
	})
	return b.BytesOrPanic()
}

// etypeInfo2Entry is ETYPE-INFO2-ENTRY (RFC 4120 5.2.7.5).
type etypeInfo2Entry struct {
	EType     EType
	Salt      string
	HasSalt   bool
	S2KParams []byte // nil if absent
}

func parseETypeInfo2(b []byte) ([]etypeInfo2Entry, error) {
	var list []etypeInfo2Entry
	s := cryptobyte.String(b)
	ok := sequenceOf(maxETypes, sequence(func(s *cryptobyte.String) bool {
		var e etypeInfo2Entry
		var et int32
		var hasParams bool
		if !fieldInt32(s, 0, &et) || !optText(s, 1, &e.HasSalt, &e.Salt) ||
			!optOctets(s, 2, &hasParams, &e.S2KParams, 64) {
			return false
		}
		e.EType = EType(et)
		list = append(list, e)
		return true
	}))(&s)
	if !ok || !s.Empty() || len(list) == 0 {
		return nil, errors.New("krb5: malformed PA-ETYPE-INFO2")
	}
	return list, nil
}

func marshalETypeInfo2(list []etypeInfo2Entry) []byte {
	var b builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
		for _, e := range list {
			b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
				addField(b, 0, func(b *builder) { addInt(b, int64(e.EType)) })
				if e.HasSalt {
					addField(b, 1, func(b *builder) { addString(b, e.Salt) })
				}
				if e.S2KParams != nil {
					addField(b, 2, func(b *builder) { addOctets(b, e.S2KParams) })
				}
			})
		}
	})
	return b.BytesOrPanic()
}

// parseMethodData parses METHOD-DATA (RFC 4120 5.9.1), the e-data of
// KDC_ERR_PREAUTH_REQUIRED.
func parseMethodData(b []byte) ([]typedData, error) {
	var list []typedData
	s := cryptobyte.String(b)
	if !typedDataSeqReader(&list, 1)(&s) || !s.Empty() {
		return nil, errors.New("krb5: malformed METHOD-DATA")
	}
	return list, nil
}

func marshalMethodData(list []typedData) []byte {
	var b builder
	addTypedDataSeq(&b, list, 1)
	return b.BytesOrPanic()
}

// marshalPAEncTSEnc builds PA-ENC-TS-ENC (RFC 4120 5.2.7.2).
func marshalPAEncTSEnc(t time.Time) []byte {
	var b builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
		addField(b, 0, func(b *builder) { addTime(b, t) })
		addField(b, 1, func(b *builder) { addInt(b, int64(t.Nanosecond()/1000)) })
	})
	return b.BytesOrPanic()
}

// parseAuthData parses AuthorizationData (RFC 4120 5.2.6), as found
// inside AD-IF-RELEVANT.
func parseAuthData(b []byte) ([]typedData, error) {
	var list []typedData
	s := cryptobyte.String(b)
	if !typedDataSeqReader(&list, 0)(&s) || !s.Empty() {
		return nil, errors.New("krb5: malformed AuthorizationData")
	}
	return list, nil
}

func marshalAuthData(list []typedData) []byte {
	var b builder
	addTypedDataSeq(&b, list, 0)
	return b.BytesOrPanic()
}

// messageType returns the APPLICATION tag number of a Kerberos message,
// or -1.
func messageType(b []byte) int {
	if len(b) == 0 || b[0]&0xe0 != 0x60 || b[0]&0x1f == 0x1f {
		return -1
	}
	return int(b[0] & 0x1f)
}
