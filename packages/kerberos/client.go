package kerberos

// The initiator (SpInitLsaModeContext): the TGT of the credentials, a
// service ticket for the target (cached per logon session or per
// credentials handle), the AP-REQ with the RFC 4121 4.1.1 checksum and a
// fresh subkey, and, with mutual authentication, the AP-REP that proves
// the acceptor.

import (
	"context"
	"errors"
	"time"

	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/secpkg"
)

// InitLsaModeContext is SpInitLsaModeContext: one client leg. The first
// sends the AP-REQ; with ISC_REQ_MUTUAL_AUTH a second reads the AP-REP
// (or the KRB-ERROR that refuses the AP-REQ).
func (p *lsaPackage) InitLsaModeContext(ctx context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	if req.Context == 0 {
		return p.initFirst(ctx, req)
	}
	c, err := p.resume(req.Context, func(c *lsaContext) bool { return c.initiator && c.apreq != nil }, "awaiting an AP-REP")
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	res, err := p.readAPRep(c, req.Token)
	if err != nil {
		c.fail(err)
		return nil, err
	}
	res.Context = req.Context
	return res, nil
}

// initFirst builds the AP-REQ.
func (p *lsaPackage) initFirst(ctx context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	if len(req.Token) != 0 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: the initiator's first call takes no token")
	}
	cred, ok := p.creds.Get(req.Credential)
	if !ok || cred.out == nil {
		return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "kerberos: no outbound credentials")
	}
	kdc, err := p.krb()
	if err != nil {
		return nil, err
	}
	conf := kdc.Config
	target, err := servicePrincipal(conf, req.Target)
	if err != nil {
		return nil, err
	}
	kc := &kdcCall{p: p, parent: ctx}
	defer kc.done()
	cache, tgt, err := p.tgtOf(ctx, kc, kdc, cred.out)
	if err != nil {
		return nil, err
	}
	svc, err := p.serviceTicket(kc, kdc, cache, tgt, target)
	if err != nil {
		return nil, err
	}
	if e := svc.SessionKey.EType(); !contextETypeOK(e) {
		return nil, secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "kerberos: the ticket for %v has a %v session key, which the per-message layer does not implement (only the AES types)", target, e)
	}

	want := req.Flags.Context()
	opts := krb5.APReqOptions{
		Flags:          requestedGSSFlags(want),
		MutualRequired: want&secpkg.FlagMutualAuth != 0,
		Time:           p.lsa.Now,
		Rand:           p.lsa.Rand(),
	}
	if req.Bindings != nil {
		opts.Bindings = req.Bindings.GSSEncoding()
		opts.AnnounceBindings = true
	}
	delegated := false
	if want&secpkg.FlagDelegate != 0 {
		if fwd, err := p.forwardTGT(kc.context(), kdc, tgt, svc); err == nil {
			opts.Delegate = fwd
			delegated = true
		} else {
			p.log.DebugContext(ctx, "kerberos: not delegating", "target", target.String(), "reason", err.Error())
		}
	}
	apreq, err := krb5.NewAPReq(svc, opts)
	if opts.Delegate != nil {
		destroyCredential(opts.Delegate)
	}
	if err != nil {
		return nil, err
	}

	c := &lsaContext{
		initiator: true,
		client:    svc.Client,
		server:    svc.Server,
		start:     svc.StartTime,
		expiry:    svc.EndTime,
		gss:       apreq.Flags,
		flags:     initiatorFlags(want, delegated),
	}
	token := frameToken(tokAPReq, apreq.Message)
	if !apreq.Mutual {
		// No AP-REP: both directions use the initiator's subkey and
		// sequence number (RFC 4121 4.1, as MIT and Windows do).
		err := c.establish(p, apreq.Subkey, false, apreq.SeqNumber, apreq.SeqNumber)
		apreq.Subkey.Destroy()
		if err != nil {
			return nil, err
		}
		h := p.ctxs.Add(c)
		return c.result(h, secpkg.StatusOK, token), nil
	}
	c.apreq = apreq
	h := p.ctxs.Add(c)
	return &secpkg.ContextResult{Context: h, Status: secpkg.StatusContinueNeeded, Token: token, Flags: c.flags, Expiry: c.expiry}, nil
}

// readAPRep checks the acceptor's answer and establishes the context.
// c.mu is held.
func (p *lsaPackage) readAPRep(c *lsaContext, tok []byte) (*secpkg.ContextResult, error) {
	apreq := c.apreq
	c.apreq = nil
	// The subkey is ours alone; the session key is the cached ticket's.
	defer apreq.Subkey.Destroy()
	id, msg, err := parseToken(tok)
	if err != nil {
		return nil, err
	}
	if id != tokAPRep && id != tokKRBError {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: expected an AP-REP, got a token with TOK_ID %#04x (%v)", uint16(id), id)
	}
	rep, err := apreq.VerifyAPRep(msg)
	if err != nil {
		return nil, err
	}
	if id != tokAPRep {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: an AP-REP in a %v token", id)
	}
	key, acceptorSubkey := apreq.Subkey, false
	if !rep.Subkey.IsZero() {
		key, acceptorSubkey = rep.Subkey, true
		if !contextETypeOK(key.EType()) {
			return nil, secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "kerberos: the acceptor's subkey is %v, which the per-message layer does not implement", key.EType())
		}
	}
	err = c.establish(p, key, acceptorSubkey, apreq.SeqNumber, rep.SeqNumber)
	rep.Subkey.Destroy()
	if err != nil {
		return nil, err
	}
	return c.result(0, secpkg.StatusOK, nil), nil
}

// tgtOf returns the initiator credentials' TGT and the cache of the
// service tickets obtained with it, getting a TGT from the KDC first (in
// kc) if the credentials have a password or keytab and no usable TGT.
func (p *lsaPackage) tgtOf(ctx context.Context, kc *kdcCall, kdc *krb5.Client, o *initiatorCreds) (*ticketCache, *krb5.Credential, error) {
	now, skew := p.lsa.Now(), kdc.Config.ClockSkew
	if o.source == fromLogonSession {
		blob, err := p.sessionTGT(ctx, kdc, o.logon)
		if err != nil {
			if secpkg.StatusOf(err) == secpkg.StatusLogonDenied {
				return nil, nil, err // the KDC refused a NewCredentials logon's password
			}
			return nil, nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the logon session of %v: %w", o.client, err)
		}
		cache, err := p.sessions.cache(o.logon, blob)
		if err != nil {
			return nil, nil, err
		}
		tgt := cache.TGT()
		if !usable(tgt, now, skew) {
			return nil, nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the TGT of %v's logon session expired at %v: log on again", o.client, tgt.EndTime.UTC().Format(time.RFC3339))
		}
		return cache, tgt, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.own == nil {
		return nil, nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: the credentials were freed")
	}
	if tgt := o.own.TGT(); usable(tgt, now, skew) {
		return o.own, tgt, nil
	}
	var tgt *krb5.Credential
	var err error
	switch o.source {
	case fromPassword:
		tgt, err = kdc.GetInitialCredentialsPassword(kc.context(), o.client, string(o.password), nil)
	case fromKeytab:
		tgt, err = kdc.GetInitialCredentialsKeytab(kc.context(), o.client, o.keytab, nil)
	default:
		return nil, nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the TGT of %v from the %v has expired", o.client, o.source)
	}
	if err != nil {
		if secpkg.StatusOf(err) == secpkg.StatusLogonDenied {
			p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: o.client.String(), Reason: "the KDC refused the AS exchange", Status: secpkg.StatusLogonDenied})
		}
		return nil, nil, err
	}
	if old := o.own.TGT(); old != nil {
		destroyCredential(old)
	}
	o.own.setTGT(tgt, nil)
	return o.own, tgt, nil
}

// serviceTicket returns a ticket for target: from the cache, or from the
// KDC with the TGT (following referrals), then cached.
func (p *lsaPackage) serviceTicket(kc *kdcCall, kdc *krb5.Client, cache *ticketCache, tgt *krb5.Credential, target krb5.Principal) (*krb5.Credential, error) {
	key := target.String()
	if t := cache.lookup(key, p.lsa.Now(), kdc.Config.ClockSkew); t != nil {
		return t, nil
	}
	svc, err := kdc.GetServiceTicket(kc.context(), tgt, target, nil)
	if err != nil {
		return nil, err
	}
	cache.add(key, tgt, svc)
	return svc, nil
}

// errNotForwardable says why a TGT was not delegated.
var errNotForwardable = errors.New("kerberos: the TGT is not forwardable")

// forwardTGT returns a forwarded TGT to delegate to the service of svc,
// if the delegation policy and the TGT allow it.
func (p *lsaPackage) forwardTGT(ctx context.Context, kdc *krb5.Client, tgt, svc *krb5.Credential) (*krb5.Credential, error) {
	if !p.mayDelegate(kdc.Config, svc.Flags) {
		return nil, secpkg.Errorf(secpkg.StatusDelegationPolicy, "kerberos: %v is not ok-as-delegate", svc.Server)
	}
	if !tgt.Flags.Has(krb5.FlagForwardable) {
		return nil, errNotForwardable
	}
	return kdc.GetForwardedTGT(ctx, tgt)
}

// requestedGSSFlags are the flags of the GSS checksum (RFC 4121 4.1.1.1)
// for the context flags an application asked for. As MIT does, the
// initiator always offers confidentiality and integrity; delegation is
// added by NewAPReq when a TGT is delegated.
func requestedGSSFlags(f secpkg.ContextFlags) krb5.GSSFlags {
	g := krb5.GSSConf | krb5.GSSInteg
	for _, m := range gssFlagMap {
		if f&m.ctx != 0 && m.gss != krb5.GSSDeleg {
			g |= m.gss
		}
	}
	return g
}

// gssFlagMap pairs the context flags with the GSS flags.
var gssFlagMap = []struct {
	ctx secpkg.ContextFlags
	gss krb5.GSSFlags
}{
	{secpkg.FlagDelegate, krb5.GSSDeleg},
	{secpkg.FlagMutualAuth, krb5.GSSMutual},
	{secpkg.FlagReplayDetect, krb5.GSSReplay},
	{secpkg.FlagSequenceDetect, krb5.GSSSequence},
	{secpkg.FlagConfidentiality, krb5.GSSConf},
	{secpkg.FlagIntegrity, krb5.GSSInteg},
	{secpkg.FlagIdentify, krb5.GSSIdentify},
	{secpkg.FlagExtendedError, krb5.GSSExtendedError},
}

// initiatorFlags are the ISC_RET flags of a context: what was asked for
// and Kerberos provides, with delegation only if a TGT was delegated.
func initiatorFlags(want secpkg.ContextFlags, delegated bool) secpkg.ContextFlags {
	var out secpkg.ContextFlags
	for _, m := range gssFlagMap {
		if want&m.ctx != 0 {
			out |= m.ctx
		}
	}
	if !delegated {
		out &^= secpkg.FlagDelegate
	}
	return out | want&secpkg.FlagConnection
}

// acceptorFlags are the ASC_RET flags of an accepted context: what the
// initiator's checksum asked for.
func acceptorFlags(got *krb5.AcceptedAPReq) secpkg.ContextFlags {
	var out secpkg.ContextFlags
	for _, m := range gssFlagMap {
		if got.Flags&m.gss != 0 {
			out |= m.ctx
		}
	}
	if got.Delegated == nil {
		out &^= secpkg.FlagDelegate
	}
	if got.MutualRequired {
		out |= secpkg.FlagMutualAuth
	}
	return out
}
