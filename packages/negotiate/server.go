package negotiate

import (
	"bytes"
	"context"
	"encoding/asn1"

	"github.com/opensspi/sspi/secpkg"
)

// hintName is what Windows acceptors put in NegTokenInit2's hintName
// (MS-SPNG 3.2.5.2): initiators ignore it.
const hintName = "not_defined_in_RFC4178@please_ignore"

// ntlmSignature starts every NTLM message (MS-NLMP 2.2.1).
var ntlmSignature = []byte("NTLMSSP\x00")

// AcceptLsaModeContext is SpAcceptLsaModeContext, as MIT's
// spnego_gss_accept_sec_context runs it: the first leg picks the first
// package in the initiator's list that the credentials can accept with
// and answers its optimistic token, if any; later legs carry the chosen
// package's tokens and the mechListMIC. A first call without a token
// returns the acceptor's hints (NegTokenInit2). As Windows does, a raw
// Kerberos or NTLM token is accepted too, and the context then runs that
// package directly.
func (p *lsaPackage) AcceptLsaModeContext(ctx context.Context, req *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	if req.Context == 0 {
		cred, ok := p.creds.Get(req.Credential)
		if !ok {
			return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "negotiate: no such credentials handle")
		}
		if cred.use&secpkg.CredentialInbound == 0 {
			return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "negotiate: credentials are not for inbound use")
		}
		c := &lsaContext{cred: cred, ascFlags: req.Flags, bindings: req.Bindings, dataRep: req.DataRep}
		if len(req.Token) == 0 {
			return c.hints(p.ctxs.Add(c)), nil
		}
		tok, err := c.acceptFirst(ctx, req.Token)
		if err != nil {
			c.deleteSub(ctx)
			return nil, err
		}
		return c.result(p.ctxs.Add(c), tok), nil
	}
	c, ok := p.ctxs.Get(req.Context)
	if !ok || c.initiator {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "negotiate: no such acceptor context")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var tok []byte
	var err error
	switch {
	case c.complete:
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: context is already established")
	case c.chosen.lsa == nil:
		// The context of a hints request: now the initiator's
		// NegTokenInit.
		tok, err = c.acceptFirst(ctx, req.Token)
	default:
		tok, err = c.acceptNext(ctx, req.Token)
	}
	if err != nil {
		return nil, err
	}
	return c.result(req.Context, tok), nil
}

// hints answers an empty first token with NegTokenInit2 listing what the
// credentials can accept (MS-SPNG 3.2.5.2).
func (c *lsaContext) hints(h secpkg.Handle) *secpkg.ContextResult {
	var offer []asn1.ObjectIdentifier
	for _, s := range c.cred.subs {
		offer = append(offer, s.pkg.oid)
	}
	init := &negTokenInit{mechTypes: offer, hints: true, hintName: hintName}
	return &secpkg.ContextResult{Context: h, Status: secpkg.StatusContinueNeeded, Token: frame(oidSPNEGO, init.marshal())}
}

// acceptFirst handles the initiator's first token.
func (c *lsaContext) acceptFirst(ctx context.Context, in []byte) ([]byte, error) {
	if bytes.HasPrefix(in, ntlmSignature) {
		return c.acceptDirect(ctx, oidNTLM, in)
	}
	oid, inner, ok := unframe(in)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: the first token is neither SPNEGO, Kerberos nor NTLM")
	}
	if !oid.Equal(oidSPNEGO) {
		return c.acceptDirect(ctx, oid, in)
	}
	init, _, err := parseNegotiationToken(inner)
	if err != nil || init == nil || init.hints {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: expected NegTokenInit: %v", failed(err))
	}
	if init.mechListMIC != nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: mechListMIC in NegTokenInit")
	}
	c.mechTypes, c.mechTypesDER = init.mechTypes, init.mechTypesDER
	// The first package of the initiator's list we can accept with
	// (MIT's negotiate_mech): if it is not the initiator's first, the
	// MIC is required and the optimistic token is for another package.
	first := true
	var pick *subCredential
	for _, oid := range init.mechTypes {
		for i, s := range c.cred.subs {
			if s.pkg.names(oid) {
				pick = &c.cred.subs[i]
				c.chosenOID = oid
				break
			}
		}
		if pick != nil {
			break
		}
		first = false
	}
	if pick == nil {
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "negotiate: the initiator offers no package this acceptor can use")
	}
	c.chosen = pick.pkg
	state := stateAcceptIncomplete
	var mechOut []byte
	if !first {
		c.micRequired = true
		state = stateRequestMIC
	} else if init.mechToken != nil {
		r, err := c.acceptSub(ctx, init.mechToken)
		if err != nil {
			return nil, err
		}
		c.recordSub(r)
		mechOut = r.Token
	}
	c.negoDone = true
	micOut, err := c.acceptMIC(ctx, nil, mechOut, &state)
	if err != nil {
		return nil, err
	}
	return (&negTokenResp{state: state, supportedMech: c.chosenOID, responseToken: mechOut, mechListMIC: micOut}).marshal(), nil
}

// acceptDirect runs a package directly on a raw token of its own.
func (c *lsaContext) acceptDirect(ctx context.Context, oid asn1.ObjectIdentifier, in []byte) ([]byte, error) {
	for _, s := range c.cred.subs {
		if !s.pkg.names(oid) {
			continue
		}
		c.direct, c.chosen, c.chosenOID, c.negoDone = true, s.pkg, oid, true
		r, err := c.acceptSub(ctx, in)
		if err != nil {
			return nil, err
		}
		c.recordSub(r)
		c.complete = c.subComplete
		return r.Token, nil
	}
	return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: a raw token of mechanism %v, which these credentials cannot accept", oid)
}

// acceptSub runs a leg of the chosen package.
func (c *lsaContext) acceptSub(ctx context.Context, token []byte) (*secpkg.ContextResult, error) {
	s, _ := c.cred.sub(c.chosen.mech)
	return c.chosen.lsa.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{
		Credential: s.h,
		Context:    c.sub,
		Flags:      c.ascFlags | secpkg.ASCReqIntegrity,
		DataRep:    c.dataRep,
		Token:      token,
		Bindings:   c.bindings,
	})
}

// acceptNext handles a NegTokenResp from the initiator (or, for a direct
// context, the package's own next token).
func (c *lsaContext) acceptNext(ctx context.Context, in []byte) ([]byte, error) {
	if c.direct {
		r, err := c.acceptSub(ctx, in)
		if err != nil {
			return nil, err
		}
		c.recordSub(r)
		c.complete = c.subComplete
		return r.Token, nil
	}
	// Old Sun SPNEGO framed its responses too; MIT tolerates it.
	if oid, inner, ok := unframe(in); ok && oid.Equal(oidSPNEGO) {
		in = inner
	}
	_, resp, err := parseNegotiationToken(in)
	if err != nil || resp == nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: expected NegTokenResp: %v", failed(err))
	}
	switch {
	case resp.responseToken == nil && resp.mechListMIC == nil:
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: NegTokenResp with neither token nor mechListMIC")
	case resp.supportedMech != nil:
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: supportedMech from the initiator")
	case resp.state == stateReject:
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "negotiate: the initiator gave up")
	case resp.state == stateRequestMIC:
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: request-mic from the initiator")
	case c.subComplete && resp.responseToken != nil:
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: a token for a package that already completed")
	}
	state := stateAcceptIncomplete
	var mechOut []byte
	if resp.responseToken != nil {
		r, err := c.acceptSub(ctx, resp.responseToken)
		if err != nil {
			return nil, err
		}
		c.recordSub(r)
		mechOut = r.Token
	}
	micOut, err := c.acceptMIC(ctx, resp.mechListMIC, mechOut, &state)
	if err != nil {
		return nil, err
	}
	if resp.state == stateAcceptCompleted && (!c.complete || len(mechOut) > 0 || micOut != nil) {
		// The initiator says it is done, yet we are not, or still owe
		// it a token: one of the two is lying.
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: the initiator claims completion while the negotiation goes on")
	}
	if c.complete && mechOut == nil && micOut == nil && resp.responseToken == nil {
		// The initiator's MIC completed it and we owe nothing: MIT
		// sends no token then.
		return nil, nil
	}
	return (&negTokenResp{state: state, responseToken: mechOut, mechListMIC: micOut}).marshal(), nil
}

// acceptMIC is step 3 of a leg: once the chosen package completed, the
// mechListMIC exchange, which decides completion when a MIC is required.
func (c *lsaContext) acceptMIC(ctx context.Context, micIn, mechOut []byte, state *negState) ([]byte, error) {
	if !c.subComplete {
		if micIn != nil {
			return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: a mechListMIC before the package completed")
		}
		return nil, nil
	}
	if c.requiresMIC(ctx) {
		c.micRequired = true
	}
	if !c.integrity() {
		if micIn != nil || c.micRequired {
			return nil, secpkg.Errorf(secpkg.StatusDowngradeDetected, "negotiate: a mechListMIC is required but the package cannot make one")
		}
		c.complete, *state = true, stateAcceptCompleted
		return nil, nil
	}
	if !c.micRequired && micIn == nil {
		c.complete, *state = true, stateAcceptCompleted
		return nil, nil
	}
	mic, exchanged, err := c.handleMIC(ctx, micIn, len(mechOut) > 0)
	if err != nil {
		return nil, err
	}
	if exchanged {
		c.complete, *state = true, stateAcceptCompleted
	}
	return mic, nil
}
