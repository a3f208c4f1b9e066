package ntlm

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/opensspi/sspi/internal/wire"
)

// signature is the Signature field that starts every message,
// "NTLMSSP\0" (MS-NLMP 2.2.1.1).
var signature = []byte("NTLMSSP\x00")

// messageType is the MessageType field (MS-NLMP 2.2.1).
type messageType uint32

// MessageType values, MS-NLMP 2.2.1.1-3.
const (
	typeNegotiate    messageType = 1 // NtLmNegotiate
	typeChallenge    messageType = 2 // NtLmChallenge
	typeAuthenticate messageType = 3 // NtLmAuthenticate
)

// String returns the MS-NLMP name of the message type.
func (t messageType) String() string {
	switch t {
	case typeNegotiate:
		return "NEGOTIATE_MESSAGE"
	case typeChallenge:
		return "CHALLENGE_MESSAGE"
	case typeAuthenticate:
		return "AUTHENTICATE_MESSAGE"
	}
	return fmt.Sprintf("MessageType(%d)", uint32(t))
}

// maxMessageSize caps every message we parse, before anything is
// allocated: Windows' MaxTokenSize. Our own messages stay below 2888 bytes
// (PackageInfo.MaxToken).
const maxMessageSize = 48000

// Fixed header sizes, MS-NLMP 2.2.1.1-3, without VERSION and MIC.
const (
	negotiateHeaderSize    = 32
	challengeHeaderSize    = 48
	authenticateHeaderSize = 64
	versionSize            = 8
	micSize                = 16
	// micOffset is where the MIC lies in an AUTHENTICATE_MESSAGE
	// (MS-NLMP 2.2.1.3): after the 64-byte header and the VERSION.
	micOffset = authenticateHeaderSize + versionSize
)

// version is the VERSION structure (MS-NLMP 2.2.2.10).
type version struct {
	major    uint8  // ProductMajorVersion
	minor    uint8  // ProductMinorVersion
	build    uint16 // ProductBuild
	revision uint8  // NTLMRevisionCurrent, 0x0F (NTLMSSP_REVISION_W2K3)
}

// ourVersion is what we send: Windows 10 / Server 2016+ (10.0 build
// 20348) with NTLMSSP_REVISION_W2K3, so that peers treat us as a current
// implementation.
var ourVersion = version{major: 10, minor: 0, build: 20348, revision: 0x0F}

// ntlmRevisionW2K3 is NTLMSSP_REVISION_W2K3 (MS-NLMP 2.2.2.10).
const ntlmRevisionW2K3 = 0x0F

func (v version) marshal() []byte {
	b := make([]byte, versionSize)
	b[0], b[1] = v.major, v.minor
	binary.LittleEndian.PutUint16(b[2:], v.build)
	// b[4:7] is Reserved, MUST be zero (MS-NLMP 2.2.2.10).
	b[7] = v.revision
	return b
}

func parseVersion(b []byte) version {
	return version{major: b[0], minor: b[1], build: binary.LittleEndian.Uint16(b[2:]), revision: b[7]}
}

// String formats the version as "10.0.20348 rev 15".
func (v version) String() string {
	return fmt.Sprintf("%d.%d.%d rev %d", v.major, v.minor, v.build, v.revision)
}

// readHeader checks the size cap, Signature and MessageType.
func readHeader(s *wire.String, raw []byte, want messageType) error {
	if len(raw) > maxMessageSize {
		return fmt.Errorf("ntlm: %v of %d bytes exceeds %d", want, len(raw), maxMessageSize)
	}
	var sig []byte
	var typ uint32
	if !s.ReadBytes(&sig, len(signature)) || !s.ReadUint32(&typ) {
		return fmt.Errorf("ntlm: %v shorter than its header", want)
	}
	if !bytes.Equal(sig, signature) {
		return fmt.Errorf("ntlm: %v without the NTLMSSP signature", want)
	}
	if messageType(typ) != want {
		return fmt.Errorf("ntlm: got %v, want %v", messageType(typ), want)
	}
	return nil
}

// fields resolves security buffers against msg, rejecting fields that
// point into the header or past the end, and non-empty fields that
// overlap each other.
func fields(msg []byte, payloadStart int, sbs ...wire.SecurityBuffer) ([][]byte, error) {
	out := make([][]byte, len(sbs))
	for i, sb := range sbs {
		v, ok := sb.Field(msg, payloadStart)
		if !ok {
			return nil, fmt.Errorf("ntlm: field at offset %d length %d outside the payload", sb.Offset, sb.Len)
		}
		out[i] = v
		if sb.Len == 0 {
			continue
		}
		for _, o := range sbs[:i] {
			if o.Len != 0 && uint64(sb.Offset) < o.End() && uint64(o.Offset) < sb.End() {
				return nil, fmt.Errorf("ntlm: overlapping fields at offsets %d and %d", o.Offset, sb.Offset)
			}
		}
	}
	return out, nil
}

// negotiateMsg is the NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1).
type negotiateMsg struct {
	flags       negotiateFlags // NegotiateFlags, MS-NLMP 2.2.1.1 / 2.2.2.5
	domain      []byte         // DomainNameFields: OEM, with NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED
	workstation []byte         // WorkstationFields: OEM, with NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED
	version     *version       // Version, with NTLMSSP_NEGOTIATE_VERSION (MS-NLMP 2.2.2.10)
	raw         []byte         // the message as sent or received, for the MIC (MS-NLMP 3.1.5.1.2)
}

func (m *negotiateMsg) marshal() ([]byte, error) {
	hdr := negotiateHeaderSize
	if m.version != nil {
		hdr += versionSize
	}
	b := wire.NewMessageBuilder(hdr, len(m.domain)+len(m.workstation))
	b.AddBytes(signature)
	b.AddUint32(uint32(typeNegotiate))
	b.AddUint32(uint32(m.flags))
	domain := b.AddSecurityBuffer()
	workstation := b.AddSecurityBuffer()
	if m.version != nil {
		b.AddBytes(m.version.marshal())
	}
	b.SetPayload(domain, m.domain)
	b.SetPayload(workstation, m.workstation)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ntlm: building NEGOTIATE_MESSAGE: %w", err)
	}
	m.raw = out
	return out, nil
}

func (m *negotiateMsg) unmarshal(raw []byte) error {
	raw = bytes.Clone(raw) // kept for the MIC: never the caller's memory
	s := wire.String(raw)
	if err := readHeader(&s, raw, typeNegotiate); err != nil {
		return err
	}
	var flags uint32
	var domain, workstation wire.SecurityBuffer
	if !s.ReadUint32(&flags) || !s.ReadSecurityBuffer(&domain) || !s.ReadSecurityBuffer(&workstation) {
		return fmt.Errorf("ntlm: NEGOTIATE_MESSAGE shorter than its header")
	}
	m.flags = negotiateFlags(flags)
	payload := negotiateHeaderSize
	m.version = nil
	if m.flags&flagVersion != 0 {
		var v []byte
		if !s.ReadBytes(&v, versionSize) {
			return fmt.Errorf("ntlm: NEGOTIATE_MESSAGE too short for its VERSION")
		}
		ver := parseVersion(v)
		m.version = &ver
		payload += versionSize
	}
	f, err := fields(raw, payload, domain, workstation)
	if err != nil {
		return err
	}
	m.domain, m.workstation = f[0], f[1]
	m.raw = raw
	return nil
}

// challengeMsg is the CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2).
type challengeMsg struct {
	targetName      []byte         // TargetNameFields: UTF-16 with NTLMSSP_NEGOTIATE_UNICODE, else OEM
	flags           negotiateFlags // NegotiateFlags, MS-NLMP 2.2.2.5
	serverChallenge [8]byte        // ServerChallenge, MS-NLMP 2.2.1.2
	// Reserved (8 bytes) MUST be zero and is ignored on receipt.
	targetInfo []byte   // TargetInfoFields: AV_PAIR list (MS-NLMP 2.2.2.1), as on the wire
	avPairs    avPairs  // targetInfo parsed
	version    *version // Version, with NTLMSSP_NEGOTIATE_VERSION
	raw        []byte   // the message as sent or received, for the MIC
}

func (m *challengeMsg) marshal() ([]byte, error) {
	hdr := challengeHeaderSize
	if m.version != nil {
		hdr += versionSize
	}
	b := wire.NewMessageBuilder(hdr, len(m.targetName)+len(m.targetInfo))
	b.AddBytes(signature)
	b.AddUint32(uint32(typeChallenge))
	targetName := b.AddSecurityBuffer()
	b.AddUint32(uint32(m.flags))
	b.AddBytes(m.serverChallenge[:])
	b.AddZeros(8)
	targetInfo := b.AddSecurityBuffer()
	if m.version != nil {
		b.AddBytes(m.version.marshal())
	}
	b.SetPayload(targetName, m.targetName)
	b.SetPayload(targetInfo, m.targetInfo)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ntlm: building CHALLENGE_MESSAGE: %w", err)
	}
	m.raw = out
	return out, nil
}

func (m *challengeMsg) unmarshal(raw []byte) error {
	raw = bytes.Clone(raw) // kept for the MIC: never the caller's memory
	s := wire.String(raw)
	if err := readHeader(&s, raw, typeChallenge); err != nil {
		return err
	}
	var targetName, targetInfo wire.SecurityBuffer
	var flags uint32
	if !s.ReadSecurityBuffer(&targetName) || !s.ReadUint32(&flags) ||
		!s.CopyBytes(m.serverChallenge[:]) || !s.Skip(8) || !s.ReadSecurityBuffer(&targetInfo) {
		return fmt.Errorf("ntlm: CHALLENGE_MESSAGE shorter than its header")
	}
	m.flags = negotiateFlags(flags)
	payload := challengeHeaderSize
	m.version = nil
	if m.flags&flagVersion != 0 {
		var v []byte
		if !s.ReadBytes(&v, versionSize) {
			return fmt.Errorf("ntlm: CHALLENGE_MESSAGE too short for its VERSION")
		}
		ver := parseVersion(v)
		m.version = &ver
		payload += versionSize
	}
	f, err := fields(raw, payload, targetName, targetInfo)
	if err != nil {
		return err
	}
	m.targetName, m.targetInfo = f[0], f[1]
	if cs := charsetOf(m.flags); cs == charsetNone {
		return fmt.Errorf("ntlm: CHALLENGE_MESSAGE: %w", errNoCharset)
	} else if _, err := cs.decodeName(m.targetName); err != nil {
		return fmt.Errorf("ntlm: CHALLENGE_MESSAGE TargetName: %w", err)
	}
	m.avPairs = nil
	if len(m.targetInfo) > 0 {
		if m.avPairs, err = parseAVPairs(m.targetInfo, false); err != nil {
			return fmt.Errorf("ntlm: CHALLENGE_MESSAGE TargetInfo: %w", err)
		}
	}
	m.raw = raw
	return nil
}

// authenticateMsg is the AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3).
type authenticateMsg struct {
	lmResponse   []byte         // LmChallengeResponseFields: LM_RESPONSE or LMv2_RESPONSE (2.2.2.3-4)
	ntResponse   []byte         // NtChallengeResponseFields: NTLM_RESPONSE or NTLMv2_RESPONSE (2.2.2.6-8)
	domain       []byte         // DomainNameFields: UTF-16 with NTLMSSP_NEGOTIATE_UNICODE, else OEM (charset.go)
	user         []byte         // UserNameFields: likewise
	workstation  []byte         // WorkstationFields: likewise
	encryptedKey []byte         // EncryptedRandomSessionKeyFields, with NTLMSSP_NEGOTIATE_KEY_EXCH
	flags        negotiateFlags // NegotiateFlags, MS-NLMP 2.2.2.5
	// version is the 8 bytes at offset 64: the VERSION structure when
	// NTLMSSP_NEGOTIATE_VERSION is set, and kept as it is when only a MIC
	// follows it. nil when the payload starts at 64.
	version []byte
	// mic is the MIC field (16 bytes at offset 72, MS-NLMP 2.2.1.3), nil
	// when the message has none. A message has one when every non-empty
	// payload field starts at or after offset 88 (MS-NLMP leaves its
	// presence to MsvAvFlags; the server checks that separately).
	mic []byte
	raw []byte // the message as sent or received, for the MIC
}

func (m *authenticateMsg) marshal() ([]byte, error) {
	hdr := authenticateHeaderSize
	if m.version != nil || m.mic != nil {
		hdr += versionSize
	}
	if m.mic != nil {
		hdr += micSize
	}
	b := wire.NewMessageBuilder(hdr, len(m.lmResponse)+len(m.ntResponse)+len(m.domain)+len(m.user)+len(m.workstation)+len(m.encryptedKey))
	b.AddBytes(signature)
	b.AddUint32(uint32(typeAuthenticate))
	lm := b.AddSecurityBuffer()
	nt := b.AddSecurityBuffer()
	domain := b.AddSecurityBuffer()
	user := b.AddSecurityBuffer()
	workstation := b.AddSecurityBuffer()
	key := b.AddSecurityBuffer()
	b.AddUint32(uint32(m.flags))
	switch {
	case m.version != nil:
		b.AddBytes(m.version)
	case m.mic != nil:
		b.AddZeros(versionSize)
	}
	if m.mic != nil {
		b.AddBytes(m.mic)
	}
	// Payload order of Windows and of the MS-NLMP 4.2 examples.
	b.SetPayload(domain, m.domain)
	b.SetPayload(user, m.user)
	b.SetPayload(workstation, m.workstation)
	b.SetPayload(lm, m.lmResponse)
	b.SetPayload(nt, m.ntResponse)
	b.SetPayload(key, m.encryptedKey)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ntlm: building AUTHENTICATE_MESSAGE: %w", err)
	}
	m.raw = out
	return out, nil
}

func (m *authenticateMsg) unmarshal(raw []byte) error {
	raw = bytes.Clone(raw) // kept for the MIC: never the caller's memory
	s := wire.String(raw)
	if err := readHeader(&s, raw, typeAuthenticate); err != nil {
		return err
	}
	var lm, nt, domain, user, workstation, key wire.SecurityBuffer
	var flags uint32
	if !s.ReadSecurityBuffer(&lm) || !s.ReadSecurityBuffer(&nt) || !s.ReadSecurityBuffer(&domain) ||
		!s.ReadSecurityBuffer(&user) || !s.ReadSecurityBuffer(&workstation) ||
		!s.ReadSecurityBuffer(&key) || !s.ReadUint32(&flags) {
		return fmt.Errorf("ntlm: AUTHENTICATE_MESSAGE shorter than its header")
	}
	m.flags = negotiateFlags(flags)
	sbs := []wire.SecurityBuffer{lm, nt, domain, user, workstation, key}
	// The payload starts where the first non-empty field does; what lies
	// between the header and there is VERSION and MIC.
	first := uint64(len(raw))
	for _, sb := range sbs {
		if sb.Len != 0 && uint64(sb.Offset) < first {
			first = uint64(sb.Offset)
		}
	}
	payload := authenticateHeaderSize
	m.version, m.mic = nil, nil
	if m.flags&flagVersion != 0 || first >= micOffset+micSize {
		if !s.ReadBytes(&m.version, versionSize) {
			return fmt.Errorf("ntlm: AUTHENTICATE_MESSAGE too short for its VERSION")
		}
		payload += versionSize
	}
	if first >= micOffset+micSize {
		if !s.ReadBytes(&m.mic, micSize) {
			return fmt.Errorf("ntlm: AUTHENTICATE_MESSAGE too short for its MIC")
		}
		payload += micSize
	}
	f, err := fields(raw, payload, sbs...)
	if err != nil {
		return err
	}
	m.lmResponse, m.ntResponse, m.domain, m.user, m.workstation, m.encryptedKey = f[0], f[1], f[2], f[3], f[4], f[5]
	// The names are in the character set the message's own flags name
	// (MS-NLMP 2.2.1.3, 2.2.2.5); with neither bit it is invalid.
	cs := charsetOf(m.flags)
	if cs == charsetNone {
		return fmt.Errorf("ntlm: AUTHENTICATE_MESSAGE: %w", errNoCharset)
	}
	for _, n := range []struct {
		what string
		v    []byte
	}{{"DomainName", m.domain}, {"UserName", m.user}, {"Workstation", m.workstation}} {
		if _, err := cs.decodeName(n.v); err != nil {
			return fmt.Errorf("ntlm: AUTHENTICATE_MESSAGE %s: %w", n.what, err)
		}
	}
	m.raw = raw
	return nil
}

// names returns the user, domain and workstation as strings, decoded from
// the character set of the message's flags.
func (m *authenticateMsg) names() (user, domain, workstation string, err error) {
	cs := charsetOf(m.flags)
	if cs == charsetNone {
		return "", "", "", errNoCharset
	}
	if user, err = cs.decodeName(m.user); err != nil {
		return "", "", "", err
	}
	if domain, err = cs.decodeName(m.domain); err != nil {
		return "", "", "", err
	}
	if workstation, err = cs.decodeName(m.workstation); err != nil {
		return "", "", "", err
	}
	return user, domain, workstation, nil
}

// rawWithZeroMIC returns a copy of the message with its MIC field zeroed,
// the form the MIC is computed over (MS-NLMP 3.1.5.1.2).
func (m *authenticateMsg) rawWithZeroMIC() []byte {
	out := append([]byte(nil), m.raw...)
	if m.mic != nil {
		clear(out[micOffset : micOffset+micSize])
	}
	return out
}

// NTLMv2_CLIENT_CHALLENGE constants, MS-NLMP 2.2.2.7.
const (
	clientChallengeRespType   = 1  // RespType, MUST be 1
	clientChallengeHiRespType = 1  // HiRespType, MUST be 1
	clientChallengeFixedSize  = 28 // through Reserved3
	ntProofStrSize            = 16 // NTProofStr, MS-NLMP 2.2.2.8
)

// ntlmv2ClientChallenge is the NTLMv2_CLIENT_CHALLENGE that follows the
// NTProofStr in an NTLMv2_RESPONSE (MS-NLMP 2.2.2.7, 2.2.2.8).
type ntlmv2ClientChallenge struct {
	timestamp       uint64  // TimeStamp: FILETIME
	clientChallenge [8]byte // ChallengeFromClient
	avPairs         avPairs // AvPairs, MS-NLMP 2.2.2.1
}

// marshal returns the structure as the "temp" of MS-NLMP 3.3.2: the AV
// pairs end with MsvAvEOL followed by Z(4).
func (c *ntlmv2ClientChallenge) marshal() []byte {
	av := c.avPairs.marshal()
	b := wire.NewBuilder(make([]byte, 0, clientChallengeFixedSize+len(av)+4))
	b.AddUint8(clientChallengeRespType)
	b.AddUint8(clientChallengeHiRespType)
	b.AddZeros(2 + 4) // Reserved1, Reserved2
	b.AddUint64(c.timestamp)
	b.AddBytes(c.clientChallenge[:])
	b.AddZeros(4) // Reserved3
	b.AddBytes(av)
	b.AddZeros(4)
	out, _ := b.Bytes() // a plain builder cannot fail
	return out
}

func (c *ntlmv2ClientChallenge) unmarshal(b []byte) error {
	s := wire.String(b)
	var resp, hiResp uint8
	if !s.ReadUint8(&resp) || !s.ReadUint8(&hiResp) || !s.Skip(6) ||
		!s.ReadUint64(&c.timestamp) || !s.CopyBytes(c.clientChallenge[:]) || !s.Skip(4) {
		return fmt.Errorf("ntlm: NTLMv2_CLIENT_CHALLENGE shorter than its header")
	}
	if resp != clientChallengeRespType || hiResp != clientChallengeHiRespType {
		return fmt.Errorf("ntlm: NTLMv2_CLIENT_CHALLENGE of type %d.%d", resp, hiResp)
	}
	var err error
	if c.avPairs, err = parseAVPairs(s, true); err != nil {
		return fmt.Errorf("ntlm: NTLMv2_CLIENT_CHALLENGE: %w", err)
	}
	return nil
}
