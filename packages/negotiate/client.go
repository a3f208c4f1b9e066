package negotiate

import (
	"context"
	"errors"

	"github.com/opensspi/sspi/secpkg"
)

// InitLsaModeContext is SpInitLsaModeContext. The first leg offers the
// packages the credentials allow, most preferred first, with an
// optimistic token of the first that can start (NegTokenInit); later
// legs follow the acceptor's choice, carry the chosen package's tokens
// and exchange the mechListMIC (RFC 4178 Section 5), as MIT's SPNEGO
// does in spnego_gss_init_sec_context.
func (p *lsaPackage) InitLsaModeContext(ctx context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	if req.Context == 0 {
		return p.initFirst(ctx, req)
	}
	c, ok := p.ctxs.Get(req.Context)
	if !ok || !c.initiator {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "negotiate: no such initiator context")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.complete {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: context is already established")
	}
	tok, err := c.initNext(ctx, req.Token)
	if err != nil {
		return nil, err
	}
	return c.result(req.Context, tok), nil
}

// initFirst sends NegTokenInit. A package that cannot start (Kerberos
// with no ticket to be had) is dropped from the offer and the next one
// tried, as MIT does; if none can, the first package's error is the
// answer.
func (p *lsaPackage) initFirst(ctx context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	cred, ok := p.creds.Get(req.Credential)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "negotiate: no such credentials handle")
	}
	if cred.use&secpkg.CredentialOutbound == 0 {
		return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "negotiate: credentials are not for outbound use")
	}
	if len(req.Token) != 0 {
		// An acceptor's NegTokenInit2 hints (MS-SPNG 3.2.5.2): the
		// initiator ignores them, but they must be well-formed.
		if err := checkHints(req.Token); err != nil {
			return nil, err
		}
	}
	c := &lsaContext{cred: cred, initiator: true, target: req.Target, reqFlags: req.Flags, bindings: req.Bindings, dataRep: req.DataRep}
	var first error
	for i, s := range cred.subs {
		r, err := c.startSub(ctx, s, nil)
		if err != nil {
			if first == nil {
				first = err
			}
			p.lsa.Logger().Debug("negotiate: package cannot start; trying the next", "package", s.pkg.name, "err", err)
			continue
		}
		for _, rest := range cred.subs[i:] {
			if p.cfg.LegacyKerberosOID && rest.pkg.oid.Equal(oidKerberos) {
				c.mechTypes = append(c.mechTypes, oidMSKerberos)
			}
			c.mechTypes = append(c.mechTypes, rest.pkg.oid)
		}
		c.mechTypesDER = marshalMechTypes(c.mechTypes)
		// The optimistic token is for the first OID offered.
		c.chosen, c.chosenOID = s.pkg, c.mechTypes[0]
		c.recordSub(r)
		init := &negTokenInit{mechTypes: c.mechTypes, mechToken: r.Token}
		out := frame(oidSPNEGO, init.marshal())
		h := p.ctxs.Add(c)
		res := c.result(h, out)
		res.Status = secpkg.StatusContinueNeeded
		return res, nil
	}
	return nil, first
}

// startSub runs the first leg of the package s, with the chosen
// package's view of the request: integrity is always asked for, so that
// a mechListMIC can be made (MIT's init_ctx_call_init does the same).
func (c *lsaContext) startSub(ctx context.Context, s subCredential, token []byte) (*secpkg.ContextResult, error) {
	return s.pkg.lsa.InitLsaModeContext(ctx, &secpkg.InitContextRequest{
		Credential: s.h,
		Target:     c.target,
		Flags:      c.reqFlags | secpkg.ISCReqIntegrity,
		DataRep:    c.dataRep,
		Token:      token,
		Bindings:   c.bindings,
	})
}

// stepSub runs a later leg of the chosen package.
func (c *lsaContext) stepSub(ctx context.Context, token []byte) (*secpkg.ContextResult, error) {
	s, _ := c.cred.sub(c.chosen.mech)
	return c.chosen.lsa.InitLsaModeContext(ctx, &secpkg.InitContextRequest{
		Credential: s.h,
		Context:    c.sub,
		Target:     c.target,
		Flags:      c.reqFlags | secpkg.ISCReqIntegrity,
		DataRep:    c.dataRep,
		Token:      token,
		Bindings:   c.bindings,
	})
}

// initNext handles one NegTokenResp from the acceptor in the three steps
// of MIT's spnego_gss_init_sec_context: settle the mechanism, run the
// chosen package, then exchange the mechListMIC. It returns the token to
// send, or nil; c.complete says whether the context is established.
func (c *lsaContext) initNext(ctx context.Context, in []byte) ([]byte, error) {
	_, resp, err := parseNegotiationToken(in)
	if err != nil || resp == nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: expected NegTokenResp: %v", failed(err))
	}
	if resp.state == stateReject && resp.responseToken == nil {
		if !c.negoDone {
			return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "negotiate: the acceptor supports none of the packages offered")
		}
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "negotiate: the acceptor rejected the authentication")
	}

	// Step 1: the mechanism.
	send := true
	if !c.negoDone {
		if send, err = c.initNego(ctx, resp); err != nil {
			return nil, err
		}
		c.negoDone = true
	} else {
		switch {
		case resp.supportedMech != nil:
			return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: supportedMech after the first reply")
		case resp.state == stateRequestMIC:
			return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: request-mic after the first reply")
		case !c.subComplete && resp.responseToken == nil, c.subComplete && resp.responseToken != nil:
			return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: the acceptor's token is missing or spurious")
		case c.subComplete && !(c.micRequired && c.integrity()):
			send = false
		}
	}

	// Step 2: the chosen package, unless it completed before.
	var mechOut []byte
	if !c.subComplete {
		var r *secpkg.ContextResult
		if c.sub == 0 {
			s, _ := c.cred.sub(c.chosen.mech)
			r, err = c.startSub(ctx, s, resp.responseToken)
		} else {
			r, err = c.stepSub(ctx, resp.responseToken)
		}
		if err != nil {
			return nil, err
		}
		if resp.state == stateReject {
			return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "negotiate: the acceptor rejected the authentication")
		}
		c.recordSub(r)
		mechOut = r.Token
		if resp.state == stateAcceptCompleted && len(mechOut) > 0 {
			// The acceptor says it needs nothing more, yet its package
			// expects our token: one of the two is lying.
			return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: the acceptor claims completion while its package continues")
		}
		if c.subComplete {
			if len(mechOut) == 0 && !(c.micRequired && c.integrity()) {
				send = false
			}
			if c.requiresMIC(ctx) {
				c.micRequired = true
			}
		}
	}

	// Step 3: the mechListMIC.
	var micOut []byte
	if c.subComplete && c.integrity() {
		mic, exchanged, err := c.handleMIC(ctx, resp.mechListMIC, len(mechOut) > 0)
		if err != nil {
			return nil, err
		}
		micOut = mic
		if exchanged {
			c.complete = true
			send = micOut != nil
		}
	} else if resp.mechListMIC != nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: a mechListMIC the negotiation cannot check")
	}
	if !send {
		if resp.state != stateAcceptCompleted {
			// We are done and owe nothing, yet the acceptor expects
			// more: one of the two is lying.
			return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: the acceptor expects more (%v) after the negotiation completed", resp.state)
		}
		c.complete = true
		return nil, nil
	}
	state := stateAcceptIncomplete
	if c.complete {
		state = stateAcceptCompleted
	}
	return (&negTokenResp{state: state, responseToken: mechOut, mechListMIC: micOut}).marshal(), nil
}

// requiresMIC asks the chosen package whether its exchange makes the
// mechListMIC mandatory (MIT's mech_requires_mechlistMIC).
func (c *lsaContext) requiresMIC(ctx context.Context) bool {
	m, ok := c.chosen.lsa.(secpkg.MechListMICer)
	if !ok {
		return false
	}
	req, err := m.MechListMICRequired(ctx, c.sub)
	return err == nil && req
}

// initNego handles the acceptor's first reply: which package it chose
// (RFC 4178 Section 4.2.2), as MIT's init_ctx_nego does. It reports
// whether a token must still be sent.
func (c *lsaContext) initNego(ctx context.Context, resp *negTokenResp) (send bool, err error) {
	selected := resp.supportedMech
	if selected == nil {
		// Some acceptors leave supportedMech out of the first reply
		// when they take the optimistic token; MIT tolerates it.
		selected = c.chosenOID
	}
	if c.chosen.names(selected) {
		if resp.state == stateRequestMIC {
			c.micRequired = true
		}
		switch {
		case resp.responseToken == nil && c.subComplete:
			return false, nil // the package completed on its first leg
		case resp.responseToken == nil:
			return false, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: the acceptor took the optimistic token but sent none back")
		case len(resp.responseToken) == 0 && c.subComplete:
			return false, nil // old IIS: an empty token for none
		case c.subComplete:
			return false, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: a token for a package that already completed")
		}
		return true, nil
	}
	// The acceptor counter-proposed another package we offered: that
	// departs from our first choice, so the MIC is required (RFC 4178
	// Section 5). Windows 2003 said accept-incomplete instead of
	// request-mic; MIT tolerates that for NTLM only, and so do we.
	var pick *subCredential
	for _, oid := range c.mechTypes[1:] {
		for i, s := range c.cred.subs {
			if s.pkg.oid.Equal(oid) && s.pkg.names(selected) {
				pick = &c.cred.subs[i]
			}
		}
	}
	if pick == nil {
		return false, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: the acceptor chose %v, which was not offered", selected)
	}
	switch {
	case resp.state == stateRequestMIC:
		c.micRequired = true
	case resp.state == stateAcceptIncomplete && pick.pkg.oid.Equal(oidNTLM):
	default:
		return false, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: counter-proposal with negState %v", resp.state)
	}
	if len(resp.responseToken) > 0 {
		return false, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: a token with a counter-proposal")
	}
	if err := c.deleteSub(ctx); err != nil && !errors.Is(err, secpkg.StatusInvalidHandle) {
		return false, err
	}
	c.chosen, c.chosenOID = pick.pkg, selected
	c.subComplete, c.mapped, c.contextData = false, false, nil
	return true, nil
}

// checkHints checks an acceptor's NegTokenInit2.
func checkHints(tok []byte) error {
	oid, inner, ok := unframe(tok)
	if !ok || !oid.Equal(oidSPNEGO) {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: input token on the first call is not SPNEGO")
	}
	init, _, err := parseNegotiationToken(inner)
	if err != nil || init == nil {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: malformed NegTokenInit2: %v", failed(err))
	}
	return nil
}

func failed(err error) error {
	if err == nil {
		return errors.New("wrong token type")
	}
	return err
}
