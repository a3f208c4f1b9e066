package ntlm

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// serverState is the acceptor's handshake (MS-NLMP 3.2.5), discarded once
// the AUTHENTICATE_MESSAGE is judged.
type serverState struct {
	p        *lsaPackage
	cred     *credential
	req      secpkg.ASCFlags
	bindings *secpkg.ChannelBindings // the acceptor's bindings, from either leg

	negotiate     negotiateMsg
	charset       charset // of our CHALLENGE_MESSAGE: Unicode if offered, else OEM
	challenge     challengeMsg
	challengeSent bool
	issuedAt      time.Time
	timestamp     uint64 // our MsvAvTimestamp

	authenticate authenticateMsg
	now          time.Time
	user, domain string
	workstation  string
	kind         responseKind
	blob         ntlmv2ClientChallenge // NTLMv2 only
	acct         *secpkg.Account       // nil for unknown accounts and anonymous
	responseKey  [16]byte
	exportedKey  []byte
	flags        negotiateFlags
	ctxFlags     secpkg.ContextFlags
	bindResult   secpkg.ChannelBindingResult
	failReason   string // for the audit log only
}

func (hs *serverState) wipe() {
	clear(hs.responseKey[:])
	clear(hs.exportedKey)
}

// responseKind classifies an AUTHENTICATE_MESSAGE by its responses
// (MS-NLMP 3.2.5.1.2, 2.2.2.3-8).
type responseKind int

const (
	responseAnonymous responseKind = iota + 1 // empty user and NT response, LM empty or Z(1)
	responseNTLMv2                            // NTLMv2_RESPONSE
	responseNTLMv1                            // 24-byte NTLM_RESPONSE (with or without ESS)
	responseLM                                // only an LmChallengeResponse
)

func (k responseKind) String() string {
	switch k {
	case responseAnonymous:
		return "anonymous"
	case responseNTLMv2:
		return "NTLMv2"
	case responseNTLMv1:
		return "NTLMv1"
	case responseLM:
		return "LM"
	}
	return "unknown"
}

// challengeFlags are the NegotiateFlags a server always sets in the
// CHALLENGE_MESSAGE (MS-NLMP 3.2.5.1.1), besides the character set.
const challengeFlags = flagNTLM | flagTargetInfo | flagVersion | flagTargetTypeServer

// AcceptLsaModeContext is SpAcceptLsaModeContext: leg 1 answers the
// NEGOTIATE_MESSAGE with a CHALLENGE_MESSAGE, leg 2 judges the
// AUTHENTICATE_MESSAGE.
func (p *lsaPackage) AcceptLsaModeContext(ctx context.Context, req *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	if req.Context == 0 {
		return p.acceptFirst(ctx, req)
	}
	c, err := p.resume(req.Context, func(c *lsaContext) bool { return c.server != nil }, "an acceptor awaiting an AUTHENTICATE_MESSAGE")
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	hs := c.server
	if req.Bindings != nil {
		hs.bindings = req.Bindings
	}
	hs.req |= req.Flags
	hs.now = p.now()
	err = hs.handshake(ctx, req.Token)
	p.forgetIssued(hs.challenge.serverChallenge)
	hs.challengeSent = false
	if err != nil {
		reason := hs.failReason
		if reason == "" {
			reason = auditReason(err)
		}
		p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: accountName(hs.domain, hs.user), Reason: reason, Status: secpkg.StatusOf(err)})
		c.err = err
		hs.wipe()
		c.server = nil
		return nil, err
	}
	var key []byte
	if hs.kind != responseAnonymous {
		key = hs.exportedKey
	}
	s := newSession(roleAcceptor, hs.flags, hs.ctxFlags, key, hs.now)
	s.micPresent = hs.authenticate.mic != nil
	id := hs.identity()
	s.userName, s.clientName = id.String(), id.String()
	s.serverName = hs.cred.principal
	if s.serverName == "" {
		s.serverName = p.params.MachineName
	}
	p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonSuccess, Principal: id.String(), Status: secpkg.StatusOK})
	hs.wipe()
	c.server, c.sess, c.id = nil, s, id
	return &secpkg.ContextResult{
		Context:     req.Context,
		Status:      secpkg.StatusOK,
		Flags:       s.ctxFlags,
		Mapped:      true,
		ContextData: s.pack(originEstablished),
	}, nil
}

// auditReason is the local detail of a failure, for the audit log.
func auditReason(err error) string {
	var e *secpkg.Error
	if errors.As(err, &e) && e.Detail != "" {
		return e.Detail
	}
	return err.Error()
}

// identity is who authenticated.
func (hs *serverState) identity() *secpkg.Identity {
	id := &secpkg.Identity{
		Package:     Name,
		Flags:       hs.ctxFlags.ASC(),
		Workstation: hs.workstation,
		Bindings:    hs.bindResult,
	}
	switch {
	case hs.kind == responseAnonymous:
		id.Anonymous = true
	case hs.acct != nil:
		id.User, id.Domain = hs.acct.User, hs.acct.Domain
		id.Groups = append([]string(nil), hs.acct.Groups...)
	}
	return id
}

// acceptFirst is leg 1: NEGOTIATE_MESSAGE in, CHALLENGE_MESSAGE out.
func (p *lsaPackage) acceptFirst(ctx context.Context, req *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	cred, ok := p.creds.Get(req.Credential)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such credentials handle")
	}
	if cred.use&secpkg.CredentialInbound == 0 {
		return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "ntlm: credentials are not for inbound use")
	}
	hs := &serverState{p: p, cred: cred, req: req.Flags, bindings: req.Bindings, now: p.now()}
	if err := hs.readNegotiate(req.Token); err != nil {
		return nil, err
	}
	if err := hs.writeChallenge(); err != nil {
		return nil, err
	}
	h := p.ctxs.Add(&lsaContext{server: hs})
	return &secpkg.ContextResult{
		Context: h,
		Status:  secpkg.StatusContinueNeeded,
		Token:   hs.challenge.raw,
		Expiry:  hs.issuedAt.Add(p.cfg.challengeLifetime()),
	}, nil
}

// readNegotiate parses and judges the NEGOTIATE_MESSAGE.
func (hs *serverState) readNegotiate(token []byte) error {
	if err := hs.negotiate.unmarshal(token); err != nil {
		return errInvalidToken(err)
	}
	f := hs.negotiate.flags
	// MS-NLMP 2.2.2.5: Unicode if the client offers it, else OEM (python
	// ntlm-auth sends 0xe288b032); with neither the message is invalid.
	hs.charset = charsetOf(f)
	if hs.charset == charsetNone {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "%w", errNoCharset)
	}
	if f&flagExtendedSessionSecurity == 0 {
		if !hs.p.cfg.InsecureAllowNTLMv1 {
			return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "ntlm: client does not offer extended session security")
		}
		if f&flagDatagram != 0 {
			return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "ntlm: datagram mode needs extended session security")
		}
	}
	return nil
}

// writeChallenge builds the CHALLENGE_MESSAGE (MS-NLMP 3.2.5.1.1): a fresh
// single-use ServerChallenge and TargetInfo naming this machine, with
// MsvAvTimestamp so that the client must send a MIC.
func (hs *serverState) writeChallenge() error {
	p := hs.p
	// Echo what the client offered, but never LM_KEY: with extended
	// session security it is ignored anyway (MS-NLMP 2.2.2.5), without
	// it only an LM hash could use it.
	flags := challengeFlags | hs.charset.flag() | hs.negotiate.flags&(sessionSecurityFlags&^flagLMKey)
	if hs.negotiate.flags&flagRequestTarget != 0 {
		flags |= flagRequestTarget
	}
	hs.issuedAt = hs.now
	hs.timestamp = toFileTime(hs.now)
	pairs := avPairs{
		{avNbDomainName, encodeUTF16(p.params.DomainName)},
		{avNbComputerName, encodeUTF16(p.params.MachineName)},
	}
	if p.params.DNSDomainName != "" {
		pairs = append(pairs, avPair{avDNSDomainName, encodeUTF16(p.params.DNSDomainName)})
	}
	if p.params.DNSMachineName != "" {
		pairs = append(pairs, avPair{avDNSComputerName, encodeUTF16(p.params.DNSMachineName)})
	}
	if p.params.DNSTreeName != "" {
		pairs = append(pairs, avPair{avDNSTreeName, encodeUTF16(p.params.DNSTreeName)})
	}
	pairs = append(pairs, avPair{avTimestamp, fileTimeBytes(hs.timestamp)})
	hs.challenge = challengeMsg{
		targetName: hs.charset.encodeName(p.params.DomainName), // MS-NLMP 2.2.1.2
		flags:      flags,
		targetInfo: pairs.marshal(),
		avPairs:    pairs,
		version:    &ourVersion,
	}
	if err := p.random(hs.challenge.serverChallenge[:]); err != nil {
		return err
	}
	if err := p.noteIssued(hs.challenge.serverChallenge, hs.issuedAt.Add(p.cfg.challengeLifetime()), hs.cred.principal); err != nil {
		return err
	}
	hs.challengeSent = true
	if _, err := hs.challenge.marshal(); err != nil {
		p.forgetIssued(hs.challenge.serverChallenge)
		hs.challengeSent = false
		return err
	}
	return nil
}

// handshake is leg 2, in the spirit of MS-NLMP 3.2.5.1.2 with Samba's
// stricter checks. Policy refusals that do not depend on the account come
// before the account lookup; after it, unknown accounts and wrong
// passwords take one path and give one error.
func (hs *serverState) handshake(ctx context.Context, token []byte) error {
	if err := hs.readAuthenticate(token); err != nil {
		return err
	}
	if err := hs.checkChallengeUse(ctx); err != nil {
		return err
	}
	if err := hs.classifyResponse(); err != nil {
		return err
	}
	if err := hs.settleFlags(); err != nil {
		return err
	}
	if hs.kind == responseAnonymous {
		return hs.acceptAnonymous()
	}
	if err := hs.checkClientChallenge(); err != nil {
		return err
	}
	if err := hs.verifyResponse(ctx); err != nil {
		return err
	}
	if err := hs.deriveKeys(); err != nil {
		return err
	}
	if err := hs.verifyMIC(); err != nil {
		return err
	}
	if err := hs.checkTargetName(); err != nil {
		return err
	}
	return hs.checkBindings()
}

// readAuthenticate parses the AUTHENTICATE_MESSAGE; hs.now was set by the
// caller.
func (hs *serverState) readAuthenticate(token []byte) error {
	if err := hs.authenticate.unmarshal(token); err != nil {
		return errInvalidToken(err)
	}
	user, domain, ws, err := hs.authenticate.names()
	if err != nil {
		return errInvalidToken(err) // unmarshal checked them; never here
	}
	hs.user, hs.domain, hs.workstation = user, domain, ws
	return nil
}

// checkChallengeUse enforces the challenge's lifetime and single use
// (the LSA replay cache, so that it holds across LSA instances sharing
// one).
func (hs *serverState) checkChallengeUse(ctx context.Context) error {
	expires := hs.issuedAt.Add(hs.p.cfg.challengeLifetime())
	if !hs.now.Before(expires) {
		return secpkg.Errorf(secpkg.StatusContextExpired, "ntlm: challenge expired %v ago", hs.now.Sub(expires).Round(time.Second))
	}
	key := append([]byte("ntlm-server-challenge:"), hs.challenge.serverChallenge[:]...)
	if err := hs.p.lsa.CheckReplay(ctx, key, expires); err != nil {
		if errors.Is(err, secpkg.ErrReplay) {
			return secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: server challenge already answered: %w", err)
		}
		return secpkg.Errorf(secpkg.StatusOf(err), "ntlm: replay cache: %w", err)
	}
	return nil
}

// minNTLMv2Response is the shortest NTLMv2_RESPONSE: NTProofStr, the
// fixed part of NTLMv2_CLIENT_CHALLENGE and an MsvAvEOL.
const minNTLMv2Response = ntProofStrSize + clientChallengeFixedSize + 4

// classifyResponse tells the kind of logon from the responses and refuses
// the kinds that policy forbids, before any account is looked up.
func (hs *serverState) classifyResponse() error {
	nt, lm := hs.authenticate.ntResponse, hs.authenticate.lmResponse
	cfg := &hs.p.cfg
	switch {
	case len(nt) == 0 && hs.user == "" && (len(lm) == 0 || bytes.Equal(lm, []byte{0})):
		hs.kind = responseAnonymous
		if !cfg.AllowAnonymous {
			return secpkg.Errorf(secpkg.StatusLogonDenied, "ntlm: anonymous logon refused by policy")
		}
	case hs.user == "" && len(nt) == 0:
		return secpkg.Errorf(secpkg.StatusLogonDenied, "ntlm: responses without a user name")
	case len(nt) > 24:
		if len(nt) < minNTLMv2Response {
			return secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: NTLMv2 response of %d bytes", len(nt))
		}
		hs.kind = responseNTLMv2
	case len(nt) == 24:
		hs.kind = responseNTLMv1
		if !cfg.InsecureAllowNTLMv1 {
			return secpkg.Errorf(secpkg.StatusLogonDenied, "ntlm: NTLMv1 response refused by policy")
		}
		if len(lm) != 24 && hs.authenticate.flags&flagExtendedSessionSecurity != 0 {
			return secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: NTLMv1 with client challenge needs a 24-byte LM response")
		}
	case len(nt) == 0 && len(lm) == 24:
		hs.kind = responseLM
		if !cfg.InsecureAllowLM {
			return secpkg.Errorf(secpkg.StatusLogonDenied, "ntlm: LM response refused by policy")
		}
	default:
		return secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: NT response of %d bytes", len(nt))
	}
	return nil
}

// settleFlags fixes NegFlg: what the client chose among what the
// CHALLENGE_MESSAGE offered. A client cannot add what was not offered.
func (hs *serverState) settleFlags() error {
	a := hs.authenticate.flags
	f := a&hs.challenge.flags&sessionSecurityFlags | charsetOf(a).flag() | flagNTLM | a&flagAnonymous
	insecure := hs.p.cfg.InsecureAllowNTLMv1
	if hs.kind == responseAnonymous || hs.kind == responseLM {
		// No session security: MS-NLMP 3.4 for anonymous; an LMv2-only
		// logon has no defined session base key.
		f &^= flagSign | flagSeal | flagKeyExch
	}
	if hs.kind != responseAnonymous && f&flagExtendedSessionSecurity == 0 && !insecure {
		return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "ntlm: client dropped extended session security")
	}
	if f&(flagSign|flagSeal) != 0 && f&flag128 == 0 && !insecure {
		return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "ntlm: client dropped 128-bit keys")
	}
	if f&flagDatagram != 0 && f&flagExtendedSessionSecurity == 0 {
		return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "ntlm: datagram mode needs extended session security")
	}
	hs.flags = f
	want := hs.req.Context()
	hs.ctxFlags = contextFlagsFor(f, want, hs.kind == responseAnonymous || hs.kind == responseLM, true)
	if m := missingServices(want, hs.ctxFlags); m != 0 {
		return secpkg.Errorf(secpkg.StatusSecurityQOSFailed, "ntlm: client did not negotiate %v", m)
	}
	return nil
}

// acceptAnonymous completes an anonymous logon: an explicit anonymous
// identity without session key. Target name and channel bindings protect
// nothing here (there is neither identity nor key to relay) and are not
// checked.
func (hs *serverState) acceptAnonymous() error {
	hs.bindResult = secpkg.BindingsAbsent
	return nil
}

// checkClientChallenge parses the NTLMv2_CLIENT_CHALLENGE and checks it
// before any secret is used: it must echo every AV pair we sent unchanged,
// and its TimeStamp must be recent.
func (hs *serverState) checkClientChallenge() error {
	if hs.kind != responseNTLMv2 {
		return nil
	}
	if err := hs.blob.unmarshal(hs.authenticate.ntResponse[ntProofStrSize:]); err != nil {
		return errInvalidToken(err)
	}
	for _, sp := range hs.challenge.avPairs {
		v, ok := hs.blob.avPairs.get(sp.id)
		if !ok || !bytes.Equal(v, sp.value) {
			hs.failReason = fmt.Sprintf("%v not echoed", sp.id)
			return secpkg.Errorf(secpkg.StatusLogonDenied, "ntlm: client changed or dropped %v", sp.id)
		}
	}
	skew := hs.p.cfg.timestampSkew()
	t := fromFileTime(hs.blob.timestamp)
	if t.Before(hs.issuedAt.Add(-skew)) || t.After(hs.now.Add(skew)) {
		return secpkg.Errorf(secpkg.StatusTimeSkew, "ntlm: NTLMv2 timestamp %v outside the window", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// verifyResponse checks the response against the account's verifier,
// inside the LSA's CheckLogon, which decides and records the attempt
// under the account's lock. An unknown account, or one without an NTLM
// verifier, is checked against a dummy verifier along the same path;
// every failure returns errLogonFailure.
func (hs *serverState) verifyResponse(ctx context.Context) error {
	p := hs.p
	sc := hs.challenge.serverChallenge[:]
	nt, lm := hs.authenticate.ntResponse, hs.authenticate.lmResponse
	check := func(verifier []byte) bool {
		hasVerifier := len(verifier) == 16
		if !hasVerifier {
			verifier = p.dummy[:]
		}
		var match bool
		switch hs.kind {
		case responseNTLMv2:
			hs.responseKey = ntowfv2(verifier, hs.user, hs.domain)
			proof := hmacMD5(hs.responseKey[:], sc, nt[ntProofStrSize:])
			match = hmac.Equal(proof[:], nt[:ntProofStrSize])
		case responseNTLMv1:
			var cc []byte
			if hs.flags&flagExtendedSessionSecurity != 0 {
				cc = lm[:8]
			}
			copy(hs.responseKey[:], verifier)
			match = subtle.ConstantTimeCompare(ntlmv1Response(verifier, sc, cc), nt) == 1
		case responseLM:
			// Only LMv2 can be checked with an NT-hash verifier.
			hs.responseKey = ntowfv2(verifier, hs.user, hs.domain)
			match = subtle.ConstantTimeCompare(lmv2Response(hs.responseKey[:], sc, lm[16:24]), lm) == 1
		}
		return match && hasVerifier
	}
	acct, err := p.lsa.CheckLogon(ctx, hs.domain, hs.user, check)
	if reason, ok := secpkg.LogonFailureReason(err); ok {
		hs.failReason = reason
		return errLogonFailure
	}
	if err != nil {
		// The LSA refused the check itself (the caller's password-check
		// rate limit, an account store that cannot record it): a logon
		// failure like any other to the peer.
		hs.failReason = "refused by the LSA"
		return secpkg.Errorf(secpkg.StatusLogonDenied, "ntlm: %w", err)
	}
	hs.acct = acct
	return nil
}

// deriveKeys computes the session base key, KXKEY and the exported
// session key (MS-NLMP 3.3, 3.4.5.1, 3.2.5.1.2).
func (hs *serverState) deriveKeys() error {
	a := &hs.authenticate
	var kx [16]byte
	switch hs.kind {
	case responseNTLMv2:
		kx = hmacMD5(hs.responseKey[:], a.ntResponse[:ntProofStrSize])
	case responseNTLMv1:
		sbk := ntlmv1SessionBaseKey(hs.responseKey[:])
		kx = kxkeyV1(hs.flags, sbk[:], a.lmResponse, hs.challenge.serverChallenge[:], nil)
		clear(sbk[:])
	case responseLM:
		return nil
	}
	defer clear(kx[:])
	// Under KEY_EXCH the client chose the ExportedSessionKey and sent it
	// under RC4 (MS-NLMP 3.1.5.1.2), and the MIC is keyed with it. It is
	// taken whenever it is there, with or without signing and sealing,
	// as Samba's and gss-ntlmssp's acceptors do: clients that keep
	// KEY_EXCH without SIGN or SEAL (Samba's without
	// NTLMSSP_FEATURE_SIGN) send one. Without SIGN
	// or SEAL a client may also send none (MS-NLMP 3.2.5.1.2 applies key
	// exchange only with SIGN or SEAL; older versions of this package
	// did that); the key is then KeyExchangeKey and KEY_EXCH is dropped
	// from NegFlg. With SIGN or SEAL the key is required.
	switch {
	case hs.flags&flagKeyExch == 0:
		hs.exportedKey = append([]byte(nil), kx[:]...)
	case len(a.encryptedKey) == 16:
		hs.exportedKey = rc4k(kx[:], a.encryptedKey)
	case len(a.encryptedKey) == 0 && hs.flags&(flagSign|flagSeal) == 0:
		hs.flags &^= flagKeyExch
		hs.exportedKey = append([]byte(nil), kx[:]...)
	default:
		return secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: EncryptedRandomSessionKey of %d bytes", len(a.encryptedKey))
	}
	return nil
}

// verifyMIC requires and checks the MIC whenever the client announces one
// in MsvAvFlags (a relay that drops the MIC cannot also drop the flag,
// which NTProofStr covers) or, with RequireMIC, whenever the client
// answers NTLMv2 at all.
func (hs *serverState) verifyMIC() error {
	announced := hs.blob.avPairs.flags()&avFlagMICPresent != 0
	required := announced || hs.kind == responseNTLMv2 && hs.p.cfg.RequireMIC
	if !required {
		return nil
	}
	a := &hs.authenticate
	if a.mic == nil {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: AUTHENTICATE_MESSAGE has no MIC")
	}
	want := computeMIC(hs.exportedKey, hs.negotiate.raw, hs.challenge.raw, a.rawWithZeroMIC())
	if !hmac.Equal(want[:], a.mic) {
		hs.failReason = "MIC does not verify"
		return secpkg.Errorf(secpkg.StatusMessageAltered, "ntlm: MIC does not verify")
	}
	return nil
}

// checkTargetName applies TargetNamePolicy to MsvAvTargetName.
func (hs *serverState) checkTargetName() error {
	principal := hs.cred.principal
	policy := hs.p.cfg.TargetNamePolicy
	if policy == TargetNameDefault {
		policy = TargetNameOff
		if principal != "" {
			policy = TargetNameRequired
		}
	}
	if policy == TargetNameOff {
		return nil
	}
	raw, present := hs.blob.avPairs.get(avTargetName)
	name, _ := decodeUTF16(raw) // checked when parsed
	present = present && name != ""
	untrusted := hs.blob.avPairs.flags()&avFlagUntrustedSPN != 0
	fail := func(why string) error {
		hs.failReason = "target name " + why
		return secpkg.Errorf(secpkg.StatusWrongPrincipal, "ntlm: target name %s", why)
	}
	switch {
	case policy == TargetNameRequired && principal == "":
		return fail("required but the acceptor has no principal")
	case policy == TargetNameRequired && !present:
		return fail("missing")
	case policy == TargetNameRequired && untrusted:
		return fail(fmt.Sprintf("%q from an untrusted source", name))
	case present && !untrusted && !strings.EqualFold(name, principal):
		return fail(fmt.Sprintf("%q, want %q", name, principal))
	}
	return nil
}

// checkBindings applies ChannelBindingPolicy to MsvAvChannelBindings and
// records the result for the identity.
func (hs *serverState) checkBindings() error {
	raw, present := hs.blob.avPairs.get(avChannelBindings)
	var zero [16]byte
	missing := !present || bytes.Equal(raw, zero[:])
	var support secpkg.ChannelBindingResult
	if present {
		support = secpkg.BindingsClientSupport
	}
	policy := hs.p.cfg.ChannelBindingPolicy
	if policy == ChannelBindingDefault {
		policy = ChannelBindingIfPresent
		if hs.bindings != nil {
			policy = ChannelBindingRequired
		}
	}
	if policy == ChannelBindingRequired && hs.req&secpkg.ASCReqAllowMissingBindings != 0 {
		policy = ChannelBindingIfPresent
	}
	fail := func(r secpkg.ChannelBindingResult, why string) error {
		hs.bindResult = support | r
		if policy == ChannelBindingOff {
			return nil
		}
		hs.failReason = "channel bindings " + why
		return secpkg.Errorf(secpkg.StatusBadBindings, "ntlm: channel bindings %s", why)
	}
	if hs.bindings == nil {
		if policy == ChannelBindingRequired {
			return fail(secpkg.BindingsAbsent, "required but the acceptor has none")
		}
		hs.bindResult = support | secpkg.BindingsAbsent
		return nil
	}
	if missing {
		if policy == ChannelBindingRequired {
			return fail(secpkg.BindingsNotValidMissing, "missing")
		}
		hs.bindResult = support | secpkg.BindingsValidMissing
		return nil
	}
	want := channelBindingsHash(hs.bindings.GSSEncoding())
	if !hmac.Equal(raw, want[:]) {
		return fail(secpkg.BindingsNotValidMismatch, "do not match")
	}
	hs.bindResult = support | secpkg.BindingsValidMatched
	return nil
}
