package opaque

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// acceptorState is the server's handshake, discarded once KE3 is judged.
type acceptorState struct {
	p        *lsaPackage
	cred     *credential
	req      secpkg.ASCFlags
	bindings *secpkg.ChannelBindings
	now      time.Time

	tok1       *ke1Token
	acct       *secpkg.Account // the account as stored, once KE3 has decided the login
	real       bool            // the account has a usable record: the login can succeed
	record     []byte          // the stored record KE2 answered with, when real
	login      *ServerLogin    // between KE2 and KE3
	flags      secpkg.ContextFlags
	bindResult secpkg.ChannelBindingResult
	failReason string // why a login cannot succeed, for the audit log only
}

func (hs *acceptorState) wipe() {
	if hs.login != nil {
		hs.login.wipe()
	}
}

func (hs *acceptorState) principal() string {
	if hs.tok1 == nil {
		return ""
	}
	return accountName(hs.tok1.domain, hs.tok1.user)
}

// reason is the audit reason of a login that fails.
func (hs *acceptorState) reason() string {
	if hs.failReason != "" {
		return hs.failReason
	}
	return "wrong password, or the client gave up"
}

// AcceptLsaModeContext is SpAcceptLsaModeContext: leg 1 answers the KE1
// token with the KE2 token (SEC_I_CONTINUE_NEEDED); leg 2 checks KE3 and
// establishes the context (SEC_E_OK).
func (p *lsaPackage) AcceptLsaModeContext(ctx context.Context, req *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	if req.Context == 0 {
		return p.acceptFirst(ctx, req)
	}
	c, err := p.resume(req.Context, func(c *lsaContext) bool { return c.acceptor != nil }, "an acceptor awaiting KE3")
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	hs := c.acceptor
	sess, err := hs.finish(ctx, req.Token)
	c.acceptor = nil
	hs.wipe()
	if err != nil {
		p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: hs.principal(), Reason: auditReason(err, hs), Status: secpkg.StatusOf(err)})
		c.err = err
		return nil, err
	}
	c.sess, c.id = sess, hs.identity()
	p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonSuccess, Principal: c.id.String(), Status: secpkg.StatusOK})
	return &secpkg.ContextResult{
		Context:     req.Context,
		Status:      secpkg.StatusOK,
		Flags:       sess.ctxFlags,
		Mapped:      true,
		ContextData: sess.pack(originEstablished),
	}, nil
}

// auditReason is the local detail of a failure.
func auditReason(err error, hs *acceptorState) string {
	if errors.Is(err, errLogonFailure) {
		return hs.reason()
	}
	var e *secpkg.Error
	if errors.As(err, &e) && e.Detail != "" {
		return e.Detail
	}
	return err.Error()
}

// acceptFirst is leg 1: the KE1 token in; GenerateKE2 (RFC 9807 Section
// 6.2.2) with the account's record, or a fake one; the KE2 token out.
func (p *lsaPackage) acceptFirst(ctx context.Context, req *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	cred, ok := p.creds.Get(req.Credential)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: no such credentials handle")
	}
	if cred.use&secpkg.CredentialInbound == 0 {
		return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "opaque: credentials are not for inbound use")
	}
	hs := &acceptorState{p: p, cred: cred, req: req.Flags, bindings: req.Bindings, now: p.lsa.Now()}
	tok, err := hs.respond(ctx, req.Token)
	if err != nil {
		reason := auditReason(err, hs)
		p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: hs.principal(), Reason: reason, Status: secpkg.StatusOf(err)})
		hs.wipe()
		return nil, err
	}
	h := p.ctxs.Add(&lsaContext{acceptor: hs})
	return &secpkg.ContextResult{Context: h, Status: secpkg.StatusContinueNeeded, Token: tok}, nil
}

// respond is leg 1 in order: read the token, check what does not depend
// on the account (target, bindings), find the record, answer.
func (hs *acceptorState) respond(ctx context.Context, token []byte) ([]byte, error) {
	p := hs.p
	tok1, err := parseKE1Token(token)
	if err != nil {
		return nil, err
	}
	hs.tok1 = tok1
	if err := hs.checkTarget(); err != nil {
		return nil, err
	}
	if err := hs.checkBindings(); err != nil {
		return nil, err
	}
	setup, err := p.serverSetup(ctx)
	if err != nil {
		return nil, err
	}
	sr, err := hs.findRecord(ctx, setup)
	if err != nil {
		return nil, err
	}
	tok2 := &ke2Token{flags: wireFlags(hs.req.Context()), ksf: sr.ksf}
	header := appendKSF([]byte{tokenVersion, byte(tokenKE2), tok2.flags}, tok2.ksf)
	var record *RegistrationRecord
	if hs.real {
		record = sr.record
	}
	srv := &Server{cfg: Config{Rand: p.rand()}, setup: setup}
	login, ke2, err := srv.generateKE2(tok1.ke1, record, sr.credentialIdentifier, loginContext(tok1.header, header))
	sr.record.wipe()
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "%w", err)
	}
	hs.login, tok2.ke2 = login, ke2
	hs.flags = contextFlags(tok1.flags, tok2.flags)
	return tok2.marshal(), nil
}

// checkTarget requires the client's target to name this acceptor's
// principal, when it has one (the SPN is also bound into both MACs by the
// context).
func (hs *acceptorState) checkTarget() error {
	principal, target := hs.cred.principal, hs.tok1.target
	if principal == "" || strings.EqualFold(principal, target) {
		return nil
	}
	return secpkg.Errorf(secpkg.StatusWrongPrincipal, "opaque: target name %q, this acceptor is %q", target, principal)
}

// checkBindings compares the client's channel bindings hash with the
// acceptor's bindings: a client without bindings is refused by an
// acceptor that has some unless ASC_REQ_ALLOW_MISSING_BINDINGS; a client
// with bindings is accepted by an acceptor without (the hash is in the
// context either way).
func (hs *acceptorState) checkBindings() error {
	var zero [32]byte
	missing := hs.tok1.bindings == zero
	var support secpkg.ChannelBindingResult
	if !missing {
		support = secpkg.BindingsClientSupport
	}
	if hs.bindings == nil {
		hs.bindResult = support | secpkg.BindingsAbsent
		return nil
	}
	if missing {
		if hs.req&secpkg.ASCReqAllowMissingBindings != 0 {
			hs.bindResult = secpkg.BindingsValidMissing
			return nil
		}
		hs.bindResult = secpkg.BindingsNotValidMissing
		return secpkg.Errorf(secpkg.StatusBadBindings, "opaque: the client sent no channel bindings")
	}
	want := sha256.Sum256(hs.bindings.GSSEncoding())
	if !hmac.Equal(want[:], hs.tok1.bindings[:]) {
		hs.bindResult = support | secpkg.BindingsNotValidMismatch
		return secpkg.Errorf(secpkg.StatusBadBindings, "opaque: channel bindings do not match")
	}
	hs.bindResult = support | secpkg.BindingsValidMatched
	return nil
}

// findRecord counts this login as a failed attempt and returns the stored
// record to answer with, in one step of the LSA's CheckLogon, which
// decides under the account's lock. The attempt is counted before KE2 goes
// out, as RFC 9807 Section 9.2 advises: the client learns from KE2 whether
// its password is right and need never send KE3, so a login counts as
// failed unless a valid KE3 comes back (finish then records the success,
// which clears the counter). An unknown account, one without a usable
// OPAQUE record, a disabled or a locked one gets the dummy record parsed
// in its stead (the same work) and the fake record of its credential
// identifier (hs.real false); CheckLogon makes the same store write for
// all of them.
func (hs *acceptorState) findRecord(ctx context.Context, setup *ServerSetup) (*storedRecord, error) {
	p, tok1 := hs.p, hs.tok1
	var stored []byte
	_, err := p.lsa.CheckLogon(ctx, tok1.domain, tok1.user, func(verifier []byte) bool {
		stored = append([]byte(nil), verifier...)
		return false // the attempt counts as failed until KE3
	})
	if reason, ok := secpkg.LogonFailureReason(err); ok {
		if !errors.Is(err, secpkg.ErrWrongPassword) {
			hs.failReason = reason
		}
	} else if err != nil {
		// The LSA refused the check itself (its password-check rate
		// limit, a store that cannot record it): a logon failure like
		// any other to the peer.
		hs.failReason = "refused by the LSA"
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "opaque: %w", err)
	}
	known := len(stored) > 0
	parse := stored
	if !known {
		parse = p.dummy
	}
	sr, perr := parseStoredRecord(parse)
	switch {
	case !known:
		if hs.failReason == "" {
			hs.failReason = "account has no OPAQUE record"
		}
	case perr != nil:
		hs.failReason = "malformed OPAQUE record"
	case !bytes.Equal(sr.serverPublicKey, setup.publicKey):
		hs.failReason = "record made for another server setup"
	case p.cfg.ksfAllowed(sr.ksf) != nil:
		hs.failReason = "record's KSF refused by policy"
	default:
		hs.real, hs.record = true, stored
		return sr, nil
	}
	clear(stored)
	if perr != nil {
		sr, _ = parseStoredRecord(p.dummy)
	}
	// The fake record's credential identifier is what a registration of
	// this account would use, so that it does not change when the account
	// is created or deleted.
	sr.credentialIdentifier = p.credentialIdentifier(tok1.domain, tok1.user)
	sr.ksf = p.cfg.KSF.orDefault()
	return sr, nil
}

// finish is leg 2: the KE3 token in, ServerFinish (Section 6.2.4).
func (hs *acceptorState) finish(ctx context.Context, token []byte) (*session, error) {
	ke3, err := parseKE3Token(token)
	if err != nil {
		return nil, err
	}
	sessionKey, err := hs.login.ServerFinish(ke3)
	if err != nil || !hs.real {
		// The failure was counted when KE2 went out.
		return nil, errLogonFailure
	}
	defer clear(sessionKey)
	// The login is right: record the success under the account's lock,
	// which the LSA refuses if the account was locked meanwhile (by the
	// attempts counted since KE2, this one's included) or its record
	// changed.
	record := hs.record
	acct, err := hs.p.lsa.CheckLogon(ctx, hs.tok1.domain, hs.tok1.user, func(verifier []byte) bool {
		return verifier != nil && bytes.Equal(verifier, record)
	})
	if reason, ok := secpkg.LogonFailureReason(err); ok {
		hs.failReason = reason
		return nil, errLogonFailure
	}
	if err != nil {
		hs.failReason = "refused by the LSA: " + err.Error()
		return nil, errLogonFailure
	}
	hs.acct = acct
	sess, err := newSession(roleAcceptor, sessionKey, hs.flags, hs.now)
	if err != nil {
		return nil, err
	}
	id := hs.identity()
	sess.userName, sess.clientName = id.String(), id.String()
	sess.serverName = hs.cred.principal
	if sess.serverName == "" {
		sess.serverName = hs.p.params.MachineName
	}
	return sess, nil
}

// identity is who authenticated.
func (hs *acceptorState) identity() *secpkg.Identity {
	id := &secpkg.Identity{
		Package:  Name,
		Flags:    hs.flags.ASC(),
		Bindings: hs.bindResult,
	}
	if hs.acct != nil {
		id.User, id.Domain = hs.acct.User, hs.acct.Domain
		id.Groups = append([]string(nil), hs.acct.Groups...)
	}
	return id
}
