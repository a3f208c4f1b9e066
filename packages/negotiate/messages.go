package negotiate

import (
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Mechanism object identifiers (RFC 4178 Section 4.1, MS-SPNG 1.9).
var (
	// oidSPNEGO is the SPNEGO pseudo-mechanism itself, the thisMech of
	// the initial token (RFC 4178 Section 3.1).
	oidSPNEGO = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	// oidKerberos is the Kerberos V5 GSS-API mechanism (RFC 4121
	// Section 1).
	oidKerberos = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	// oidMSKerberos is the OID Windows 2000 sent for Kerberos by mistake
	// and Windows still offers first (MS-SPNG 3.1.5.2); it names the same
	// mechanism as oidKerberos.
	oidMSKerberos = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
	// oidNTLM is NTLMSSP (MS-NLMP 1.9).
	oidNTLM = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	// oidNegoEx is NEGOEX (MS-NEGOEX); recognized so that it can be
	// skipped, never parsed.
	oidNegoEx = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 30}
)

// negState is NegTokenResp's negState (RFC 4178 Section 4.2.2).
type negState int

const (
	stateAcceptCompleted  negState = 0 // accept-completed
	stateAcceptIncomplete negState = 1 // accept-incomplete
	stateReject           negState = 2 // reject
	stateRequestMIC       negState = 3 // request-mic
	stateAbsent           negState = -1
)

// String names the state as RFC 4178 does.
func (s negState) String() string {
	switch s {
	case stateAcceptCompleted:
		return "accept-completed"
	case stateAcceptIncomplete:
		return "accept-incomplete"
	case stateReject:
		return "reject"
	case stateRequestMIC:
		return "request-mic"
	case stateAbsent:
		return "absent"
	}
	return fmt.Sprintf("negState(%d)", int(s))
}

// Limits on what a peer may send, checked before anything is kept.
const (
	// maxMechTypes bounds MechTypeList: Windows offers at most five
	// mechanisms; a list of hundreds is an attack on the loop that
	// searches it.
	maxMechTypes = 32
)

// Context tags of the constructed fields ([n] EXPLICIT).
func ctxTag(n uint8) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific().Constructed() }

var errMalformed = errors.New("negotiate: malformed token")

// negTokenInit is NegTokenInit (RFC 4178 Section 4.2.1), the initiator's
// first token, and NegTokenInit2 (MS-SPNG 2.2.1), the acceptor's hints:
//
//	NegTokenInit ::= SEQUENCE {
//	    mechTypes     [0] MechTypeList,
//	    reqFlags      [1] ContextFlags  OPTIONAL,
//	    mechToken     [2] OCTET STRING  OPTIONAL,
//	    mechListMIC   [3] OCTET STRING  OPTIONAL, ... }
//
//	NegTokenInit2 ::= SEQUENCE {
//	    mechTypes     [0] MechTypeList  OPTIONAL,
//	    reqFlags      [1] ContextFlags  OPTIONAL,
//	    mechToken     [2] OCTET STRING  OPTIONAL,
//	    negHints      [3] NegHints      OPTIONAL,
//	    mechListMIC   [4] OCTET STRING  OPTIONAL, ... }
type negTokenInit struct {
	mechTypes []asn1.ObjectIdentifier
	// mechTypesDER is the MechTypeList exactly as it was sent (the
	// SEQUENCE OF, without the [0] wrapper): what mechListMIC covers
	// (RFC 4178 Section 5).
	mechTypesDER []byte
	// reqFlags is the ContextFlags BIT STRING as sent (its whole
	// encoding), kept only so that a token re-encodes to the same bytes:
	// RFC 4178 Section 4.2.1 says acceptors ignore it.
	reqFlags    []byte
	mechToken   []byte
	mechListMIC []byte
	// hints is set for NegTokenInit2 (MS-SPNG 2.2.1): the acceptor's
	// hintName, which initiators must ignore (MS-SPNG 3.2.5.2).
	hints       bool
	hintName    string
	hintAddress []byte // NegHints.hintAddress as sent, or nil
}

// negTokenResp is NegTokenResp (RFC 4178 Section 4.2.2):
//
//	NegTokenResp ::= SEQUENCE {
//	    negState       [0] ENUMERATED { accept-completed(0), accept-incomplete(1), reject(2), request-mic(3) } OPTIONAL,
//	    supportedMech  [1] MechType      OPTIONAL,
//	    responseToken  [2] OCTET STRING  OPTIONAL,
//	    mechListMIC    [3] OCTET STRING  OPTIONAL, ... }
type negTokenResp struct {
	state         negState
	supportedMech asn1.ObjectIdentifier
	responseToken []byte
	mechListMIC   []byte
}

// marshalMechTypes returns the DER of MechTypeList ::= SEQUENCE OF MechType.
func marshalMechTypes(mechs []asn1.ObjectIdentifier) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, m := range mechs {
			b.AddASN1ObjectIdentifier(m)
		}
	})
	return b.BytesOrPanic()
}

// parseMechTypes parses MechTypeList strictly: DER, at least one and at
// most maxMechTypes well-formed OIDs, nothing after the list.
func parseMechTypes(der []byte) ([]asn1.ObjectIdentifier, error) {
	s := cryptobyte.String(der)
	var list cryptobyte.String
	if !s.ReadASN1(&list, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, fmt.Errorf("%w: MechTypeList is not a SEQUENCE", errMalformed)
	}
	var mechs []asn1.ObjectIdentifier
	for !list.Empty() {
		if len(mechs) == maxMechTypes {
			return nil, fmt.Errorf("%w: more than %d mechanisms", errMalformed, maxMechTypes)
		}
		var oid asn1.ObjectIdentifier
		if !list.ReadASN1ObjectIdentifier(&oid) {
			return nil, fmt.Errorf("%w: bad mechanism OID", errMalformed)
		}
		mechs = append(mechs, oid)
	}
	if len(mechs) == 0 {
		return nil, fmt.Errorf("%w: empty MechTypeList", errMalformed)
	}
	return mechs, nil
}

// marshal returns the NegotiationToken CHOICE [0] NegTokenInit (or
// NegTokenInit2 when hints is set).
func (m *negTokenInit) marshal() []byte {
	var b cryptobyte.Builder
	b.AddASN1(ctxTag(0), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if len(m.mechTypes) > 0 {
				b.AddASN1(ctxTag(0), func(b *cryptobyte.Builder) {
					b.AddBytes(marshalMechTypes(m.mechTypes))
				})
			}
			if m.reqFlags != nil {
				b.AddASN1(ctxTag(1), func(b *cryptobyte.Builder) {
					b.AddBytes(m.reqFlags)
				})
			}
			if m.mechToken != nil {
				b.AddASN1(ctxTag(2), func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(m.mechToken)
				})
			}
			micTag := uint8(3)
			if m.hints {
				micTag = 4
				b.AddASN1(ctxTag(3), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(ctxTag(0), func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.GeneralString, func(b *cryptobyte.Builder) {
								b.AddBytes([]byte(m.hintName))
							})
						})
						if m.hintAddress != nil {
							b.AddASN1(ctxTag(1), func(b *cryptobyte.Builder) {
								b.AddASN1OctetString(m.hintAddress)
							})
						}
					})
				})
			}
			if m.mechListMIC != nil {
				b.AddASN1(ctxTag(micTag), func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(m.mechListMIC)
				})
			}
		})
	})
	return b.BytesOrPanic()
}

// marshal returns the NegotiationToken CHOICE [1] NegTokenResp.
func (m *negTokenResp) marshal() []byte {
	var b cryptobyte.Builder
	b.AddASN1(ctxTag(1), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if m.state != stateAbsent {
				b.AddASN1(ctxTag(0), func(b *cryptobyte.Builder) {
					b.AddASN1Enum(int64(m.state))
				})
			}
			if m.supportedMech != nil {
				b.AddASN1(ctxTag(1), func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(m.supportedMech)
				})
			}
			if m.responseToken != nil {
				b.AddASN1(ctxTag(2), func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(m.responseToken)
				})
			}
			if m.mechListMIC != nil {
				b.AddASN1(ctxTag(3), func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(m.mechListMIC)
				})
			}
		})
	})
	return b.BytesOrPanic()
}

// fields reads the context-tagged fields of a SEQUENCE in increasing tag
// order, each at most once, calling read for each; an unknown or
// out-of-order tag is an error (RFC 4178's types end with an extension
// marker, but no extension is defined, and accepting unknown fields
// would let a peer smuggle bytes past the mechListMIC).
func fields(seq cryptobyte.String, maxTag uint8, read func(tag uint8, body cryptobyte.String) error) error {
	next := uint8(0)
	for !seq.Empty() {
		var body cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&body, &tag) {
			return fmt.Errorf("%w: bad field", errMalformed)
		}
		n := uint8(tag &^ (0x80 | 0x20))
		if tag != ctxTag(n) || n > maxTag || n < next {
			return fmt.Errorf("%w: unexpected field tag %#x", errMalformed, uint8(tag))
		}
		next = n + 1
		if err := read(n, body); err != nil {
			return err
		}
	}
	return nil
}

func readOctets(body cryptobyte.String, what string) ([]byte, error) {
	var v cryptobyte.String
	if !body.ReadASN1(&v, cbasn1.OCTET_STRING) || !body.Empty() {
		return nil, fmt.Errorf("%w: %s is not an OCTET STRING", errMalformed, what)
	}
	return append([]byte{}, v...), nil
}

// parseNegotiationToken parses an inner NegotiationToken (after any
// RFC 2743 framing): exactly one of the results is non-nil.
func parseNegotiationToken(b []byte) (*negTokenInit, *negTokenResp, error) {
	s := cryptobyte.String(b)
	var inner cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1(&inner, &tag) || !s.Empty() {
		return nil, nil, fmt.Errorf("%w: not a NegotiationToken", errMalformed)
	}
	var seq cryptobyte.String
	if !inner.ReadASN1(&seq, cbasn1.SEQUENCE) || !inner.Empty() {
		return nil, nil, fmt.Errorf("%w: NegotiationToken is not a SEQUENCE", errMalformed)
	}
	switch tag {
	case ctxTag(0):
		m, err := parseNegTokenInit(seq)
		return m, nil, err
	case ctxTag(1):
		m, err := parseNegTokenResp(seq)
		return nil, m, err
	}
	return nil, nil, fmt.Errorf("%w: NegotiationToken choice %#x", errMalformed, uint8(tag))
}

func parseNegTokenInit(seq cryptobyte.String) (*negTokenInit, error) {
	m := &negTokenInit{}
	err := fields(seq, 4, func(n uint8, body cryptobyte.String) error {
		switch n {
		case 0: // mechTypes
			mechs, err := parseMechTypes(body)
			if err != nil {
				return err
			}
			m.mechTypes, m.mechTypesDER = mechs, append([]byte{}, body...)
		case 1: // reqFlags: ignored (RFC 4178 Section 4.2.1), but well-formed
			raw := append([]byte{}, body...)
			var bits asn1.BitString
			if !body.ReadASN1BitString(&bits) || !body.Empty() {
				return fmt.Errorf("%w: reqFlags is not a BIT STRING", errMalformed)
			}
			m.reqFlags = raw
		case 2: // mechToken
			tok, err := readOctets(body, "mechToken")
			if err != nil {
				return err
			}
			m.mechToken = tok
		case 3: // NegTokenInit: mechListMIC; NegTokenInit2: negHints
			if body.PeekASN1Tag(cbasn1.OCTET_STRING) {
				mic, err := readOctets(body, "mechListMIC")
				if err != nil {
					return err
				}
				m.mechListMIC = mic
				return nil
			}
			m.hints = true
			return parseNegHints(body, m)
		case 4: // NegTokenInit2: mechListMIC
			if !m.hints && m.mechListMIC != nil {
				return fmt.Errorf("%w: two mechListMICs", errMalformed)
			}
			mic, err := readOctets(body, "mechListMIC")
			if err != nil {
				return err
			}
			m.hints, m.mechListMIC = true, mic
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !m.hints && m.mechTypes == nil {
		return nil, fmt.Errorf("%w: NegTokenInit without mechTypes", errMalformed)
	}
	return m, nil
}

// parseNegHints parses NegHints (MS-SPNG 2.2.1):
//
//	NegHints ::= SEQUENCE {
//	    hintName     [0] GeneralString OPTIONAL,
//	    hintAddress  [1] OCTET STRING  OPTIONAL }
func parseNegHints(body cryptobyte.String, m *negTokenInit) error {
	var seq cryptobyte.String
	if !body.ReadASN1(&seq, cbasn1.SEQUENCE) || !body.Empty() {
		return fmt.Errorf("%w: negHints is not a SEQUENCE", errMalformed)
	}
	return fields(seq, 1, func(n uint8, f cryptobyte.String) error {
		var v cryptobyte.String
		switch n {
		case 0:
			if !f.ReadASN1(&v, cbasn1.GeneralString) || !f.Empty() {
				return fmt.Errorf("%w: hintName is not a GeneralString", errMalformed)
			}
			m.hintName = string(v)
		case 1:
			if !f.ReadASN1(&v, cbasn1.OCTET_STRING) || !f.Empty() {
				return fmt.Errorf("%w: hintAddress is not an OCTET STRING", errMalformed)
			}
			m.hintAddress = append([]byte{}, v...)
		}
		return nil
	})
}

func parseNegTokenResp(seq cryptobyte.String) (*negTokenResp, error) {
	m := &negTokenResp{state: stateAbsent}
	err := fields(seq, 3, func(n uint8, body cryptobyte.String) error {
		switch n {
		case 0: // negState
			var v int
			if !body.ReadASN1Enum(&v) || !body.Empty() {
				return fmt.Errorf("%w: negState is not an ENUMERATED", errMalformed)
			}
			if v < int(stateAcceptCompleted) || v > int(stateRequestMIC) {
				return fmt.Errorf("%w: negState %d out of range", errMalformed, v)
			}
			m.state = negState(v)
		case 1: // supportedMech
			var oid asn1.ObjectIdentifier
			if !body.ReadASN1ObjectIdentifier(&oid) || !body.Empty() {
				return fmt.Errorf("%w: supportedMech is not an OID", errMalformed)
			}
			m.supportedMech = oid
		case 2:
			tok, err := readOctets(body, "responseToken")
			if err != nil {
				return err
			}
			m.responseToken = tok
		case 3:
			mic, err := readOctets(body, "mechListMIC")
			if err != nil {
				return err
			}
			m.mechListMIC = mic
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
