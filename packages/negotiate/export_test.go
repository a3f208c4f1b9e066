package negotiate

import "encoding/asn1"

// Test access to the wire messages, for attack tests that play the man
// in the middle.

type (
	NegTokenInit = negTokenInit
	NegTokenResp = negTokenResp
)

var (
	ParseNegotiationToken = parseNegotiationToken
	Frame                 = frame
	Unframe               = unframe
	OIDSPNEGO             = oidSPNEGO
	OIDNTLM               = oidNTLM
	OIDKerberos           = oidKerberos
	OIDNegoEx             = oidNegoEx
)

// Fields of the messages.
func (m *negTokenInit) MechTypes() []asn1.ObjectIdentifier     { return m.mechTypes }
func (m *negTokenInit) SetMechTypes(l []asn1.ObjectIdentifier) { m.mechTypes = l }
func (m *negTokenInit) MechToken() []byte                      { return m.mechToken }
func (m *negTokenInit) SetMechToken(b []byte)                  { m.mechToken = b }
func (m *negTokenInit) Marshal() []byte                        { return m.marshal() }
func (m *negTokenResp) State() int                             { return int(m.state) }
func (m *negTokenResp) SetState(s int)                         { m.state = negState(s) }
func (m *negTokenResp) MIC() []byte                            { return m.mechListMIC }
func (m *negTokenResp) SetMIC(b []byte)                        { m.mechListMIC = b }
func (m *negTokenResp) ResponseToken() []byte                  { return m.responseToken }
func (m *negTokenResp) SupportedMech() asn1.ObjectIdentifier   { return m.supportedMech }
func (m *negTokenResp) Marshal() []byte                        { return m.marshal() }
