package ntlm

import (
	"context"
	"strings"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// clientState is the initiator's handshake (MS-NLMP 3.1.5), discarded
// once the AUTHENTICATE_MESSAGE is sent.
type clientState struct {
	p        *lsaPackage
	cred     *credential
	target   string          // the SPN, sent as MsvAvTargetName
	req      secpkg.ISCFlags // ContextRequirements
	bindings []byte          // gss_channel_bindings_struct, or nil
	now      time.Time

	negotiate    negotiateMsg
	challenge    challengeMsg
	authenticate authenticateMsg
	flags        negotiateFlags // NegFlg: what both sides agreed on
	clientChal   [8]byte
	exportedKey  []byte
	ctxFlags     secpkg.ContextFlags
}

func (hs *clientState) wipe() {
	clear(hs.exportedKey)
}

// clientFlags are the NegotiateFlags a current Windows client sends
// (MS-NLMP 2.2.2.5, 3.1.5.1.1), before the per-request SIGN, SEAL,
// DATAGRAM and IDENTIFY; KEY_EXCH only goes with SIGN or SEAL.
const clientFlags = flagUnicode | flagRequestTarget | flagNTLM | flagAlwaysSign |
	flagExtendedSessionSecurity | flagVersion | flag128 | flag56 | flagKeyExch

// InitLsaModeContext is SpInitLsaModeContext: leg 1 sends the
// NEGOTIATE_MESSAGE, leg 2 answers the CHALLENGE_MESSAGE with the
// AUTHENTICATE_MESSAGE and completes the context.
func (p *lsaPackage) InitLsaModeContext(ctx context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	if req.Context == 0 {
		return p.initFirst(ctx, req)
	}
	c, err := p.resume(req.Context, func(c *lsaContext) bool { return c.client != nil }, "an initiator awaiting a challenge")
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	hs := c.client
	if err := hs.handshake(req.Token); err != nil {
		c.err = err
		hs.wipe()
		c.client = nil
		return nil, err
	}
	s := newSession(roleInitiator, hs.flags, hs.ctxFlags, hs.exportedKey, hs.now)
	s.userName, s.clientName, s.serverName = hs.cred.name, hs.cred.name, hs.target
	s.micPresent = hs.authenticate.mic != nil
	hs.wipe()
	c.client, c.sess = nil, s
	return &secpkg.ContextResult{
		Context:     req.Context,
		Status:      secpkg.StatusOK,
		Token:       hs.authenticate.raw,
		Flags:       s.ctxFlags,
		Mapped:      true,
		ContextData: s.pack(originEstablished),
	}, nil
}

// initFirst is leg 1: the NEGOTIATE_MESSAGE.
func (p *lsaPackage) initFirst(ctx context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	cred, ok := p.creds.Get(req.Credential)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such credentials handle")
	}
	if cred.use&secpkg.CredentialOutbound == 0 {
		return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "ntlm: credentials are not for outbound use")
	}
	if len(req.Token) != 0 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: input token on the first call")
	}
	hs := &clientState{p: p, cred: cred, target: req.Target, req: req.Flags, now: p.now()}
	if req.Bindings != nil {
		hs.bindings = req.Bindings.GSSEncoding()
	}
	if err := hs.writeNegotiate(); err != nil {
		return nil, err
	}
	h := p.ctxs.Add(&lsaContext{client: hs})
	// The NEGOTIATE_MESSAGE depends on the credentials and the flags
	// requested only.
	return &secpkg.ContextResult{Context: h, Status: secpkg.StatusContinueNeeded, Token: hs.negotiate.raw, Repeatable: true}, nil
}

// writeNegotiate builds the NEGOTIATE_MESSAGE (MS-NLMP 3.1.5.1.1).
func (hs *clientState) writeNegotiate() error {
	want := hs.req.Context()
	flags := clientFlags
	if want&(secpkg.FlagIntegrity|secpkg.FlagReplayDetect|secpkg.FlagSequenceDetect|secpkg.FlagConfidentiality) != 0 {
		flags |= flagSign
	}
	if want&secpkg.FlagConfidentiality != 0 {
		flags |= flagSeal
	}
	if want&secpkg.FlagDatagram != 0 {
		flags |= flagDatagram
	}
	if want&secpkg.FlagIdentify != 0 {
		flags |= flagIdentify
	}
	if flags&(flagSign|flagSeal) == 0 {
		// Authentication only: no key exchange to offer (see
		// negotiateFlags). gss-ntlmssp 1.2's acceptor reads KEY_EXCH
		// from its own CHALLENGE_MESSAGE, so it must not be offered.
		flags &^= flagKeyExch
	}
	if hs.cred.anonymous {
		// MS-NLMP 3.2.5.1.2, 3.4: an anonymous logon has no session
		// security; asking for it is an error, not a silent downgrade.
		if flags&(flagSign|flagSeal) != 0 {
			return secpkg.Errorf(secpkg.StatusSecurityQOSFailed, "ntlm: an anonymous logon cannot sign or seal")
		}
		flags = flags&^(flagKeyExch) | flagAnonymous
	}
	hs.negotiate = negotiateMsg{flags: flags, version: &ourVersion}
	_, err := hs.negotiate.marshal()
	return err
}

// handshake is leg 2, in the order of MS-NLMP 3.1.5.1.2.
func (hs *clientState) handshake(token []byte) error {
	if err := hs.readChallenge(token); err != nil {
		return err
	}
	if err := hs.checkReflection(); err != nil {
		return err
	}
	if err := hs.negotiateFlags(); err != nil {
		return err
	}
	if hs.cred.anonymous {
		return hs.writeAnonymous()
	}
	if err := hs.writeAuthenticate(); err != nil {
		return err
	}
	return hs.signMIC()
}

// readChallenge parses the CHALLENGE_MESSAGE.
func (hs *clientState) readChallenge(token []byte) error {
	if err := hs.challenge.unmarshal(token); err != nil {
		return errInvalidToken(err)
	}
	return nil
}

// checkReflection refuses a challenge our own acceptor issued for a
// service other than the one we are authenticating to: a peer reflecting
// our acceptor's challenge would get our answer to replay to it (MS08-068,
// CVE-2025-33073). A client of this host authenticating to this host's
// service under that service's name (loopback) is what the acceptor
// expects, and goes on.
func (hs *clientState) checkReflection() error {
	principal, ours := hs.p.issuedFor(hs.challenge.serverChallenge)
	if ours && (principal == "" || !strings.EqualFold(principal, hs.target)) {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: server challenge was issued by this host's acceptor for another service (reflection)")
	}
	return nil
}

// negotiateFlags settles NegFlg from both messages and checks it against
// policy and the caller's request.
func (hs *clientState) negotiateFlags() error {
	ours, theirs := hs.negotiate.flags, hs.challenge.flags
	if theirs&flagUnicode == 0 {
		return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "ntlm: server does not speak Unicode")
	}
	f := ours&theirs&sessionSecurityFlags | flagUnicode | flagNTLM | flagVersion | ours&(flagRequestTarget|flagAnonymous) | theirs&flagTargetInfo
	insecure := hs.p.cfg.InsecureAllowNTLMv1
	if f&flagExtendedSessionSecurity == 0 && !insecure {
		return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "ntlm: server refused extended session security")
	}
	if f&(flagSign|flagSeal) != 0 && f&flag128 == 0 && !insecure {
		return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "ntlm: server refused 128-bit keys")
	}
	if f&flagDatagram != 0 && f&flagExtendedSessionSecurity == 0 {
		return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "ntlm: datagram mode needs extended session security")
	}
	if f&(flagSign|flagSeal) == 0 {
		// An authentication-only context: no key exchange, as Windows
		// clients do (our flags are then 0xa2888205). ExportedSessionKey is then
		// KeyExchangeKey on every acceptor, where KEY_EXCH with no key
		// is refused by Samba and crashes gss-ntlmssp 1.2, and
		// MS-NLMP 3.2.5.1.2 ignores a key without SIGN or SEAL.
		f &^= flagKeyExch
	}
	hs.flags = f
	hs.ctxFlags = contextFlagsFor(f, hs.req.Context(), hs.cred.anonymous, false)
	if m := missingServices(hs.req.Context(), hs.ctxFlags); m != 0 {
		return secpkg.Errorf(secpkg.StatusSecurityQOSFailed, "ntlm: server did not grant %v", m)
	}
	return nil
}

// writeAnonymous builds the anonymous AUTHENTICATE_MESSAGE (MS-NLMP
// 3.1.5.1.2, 3.3.2): no user, an empty NtChallengeResponse, LM Z(1), no
// session key and no MIC.
func (hs *clientState) writeAnonymous() error {
	hs.authenticate = authenticateMsg{
		lmResponse:  []byte{0},
		workstation: encodeUTF16(hs.p.params.MachineName),
		flags:       hs.flags,
		version:     ourVersion.marshal(),
	}
	_, err := hs.authenticate.marshal()
	return err
}

// writeAuthenticate computes the NTLMv2 response and keys (MS-NLMP 3.3.2,
// 3.4.5.1) and builds the AUTHENTICATE_MESSAGE with a zero MIC.
func (hs *clientState) writeAuthenticate() error {
	p := hs.p
	if err := p.random(hs.clientChal[:]); err != nil {
		return err
	}
	// The blob echoes the server's AV pairs, then adds ours (MS-NLMP
	// 3.1.5.1.2): MsvAvFlags with the MIC bit, the channel bindings hash
	// and the target name.
	pairs := append(avPairs(nil), hs.challenge.avPairs...)
	ts, serverTime := pairs.timestamp()
	if !serverTime {
		ts = toFileTime(hs.now)
	}
	avFlagsValue := pairs.flags() | avFlagMICPresent
	pairs = pairs.set(avFlags, le32(avFlagsValue))
	cb := channelBindingsHash(hs.bindings)
	pairs = pairs.set(avChannelBindings, cb[:])
	if hs.target != "" {
		pairs = pairs.set(avTargetName, encodeUTF16(hs.target))
	}
	blob := ntlmv2ClientChallenge{timestamp: ts, clientChallenge: hs.clientChal, avPairs: pairs}
	temp := blob.marshal()

	responseKey := ntowfv2(hs.cred.ntHash[:], hs.cred.user, hs.cred.domain)
	defer clear(responseKey[:])
	_, sessionBaseKey, ntResponse := ntlmv2Response(responseKey[:], hs.challenge.serverChallenge[:], temp)
	defer clear(sessionBaseKey[:])
	var lmResponse []byte
	if !serverTime {
		// MS-NLMP 3.1.5.2.1: with a server timestamp the LM response is
		// left out.
		lmResponse = lmv2Response(responseKey[:], hs.challenge.serverChallenge[:], hs.clientChal[:])
	}

	// KXKEY for NTLMv2 is the SessionBaseKey (MS-NLMP 3.4.5.1); under key
	// exchange the ExportedSessionKey is fresh and sent under RC4.
	var encryptedKey []byte
	if hs.flags&flagKeyExch != 0 { // only with SIGN or SEAL (negotiateFlags)
		hs.exportedKey = make([]byte, 16)
		if err := p.random(hs.exportedKey); err != nil {
			return err
		}
		encryptedKey = rc4k(sessionBaseKey[:], hs.exportedKey)
	} else {
		hs.exportedKey = append([]byte(nil), sessionBaseKey[:]...)
	}

	hs.authenticate = authenticateMsg{
		lmResponse:   lmResponse,
		ntResponse:   ntResponse,
		domain:       encodeUTF16(hs.cred.domain),
		user:         encodeUTF16(hs.cred.user),
		workstation:  encodeUTF16(p.params.MachineName),
		encryptedKey: encryptedKey,
		flags:        hs.flags,
		version:      ourVersion.marshal(),
		mic:          make([]byte, micSize),
	}
	_, err := hs.authenticate.marshal()
	return err
}

// signMIC fills in the MIC over all three messages (MS-NLMP 3.1.5.1.2).
func (hs *clientState) signMIC() error {
	mic := computeMIC(hs.exportedKey, hs.negotiate.raw, hs.challenge.raw, hs.authenticate.raw)
	copy(hs.authenticate.raw[micOffset:], mic[:])
	copy(hs.authenticate.mic, mic[:])
	return nil
}
