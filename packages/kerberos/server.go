package kerberos

// The acceptor (SpAcceptLsaModeContext): every check of the AP-REQ
// (internal/krb5's Acceptor: the ticket opened with a key of ours chosen
// by principal, kvno and etype, its times, the authenticator's names and
// time, the 0x8003 checksum and channel bindings, the PAC's server
// signature, the delegated KRB-CRED, the LSA's replay cache), the AP-REP
// with an acceptor subkey, the client's identity, and the logon session
// that holds what the client delegated.

import (
	"context"
	"errors"
	"time"

	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/secpkg"
)

// AcceptLsaModeContext is SpAcceptLsaModeContext. Kerberos takes one
// leg: the AP-REQ, answered with the AP-REP when the initiator asked for
// mutual authentication.
func (p *lsaPackage) AcceptLsaModeContext(ctx context.Context, req *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	if req.Context != 0 {
		_, err := p.resume(req.Context, func(*lsaContext) bool { return false }, "awaiting a token (Kerberos accepts in one leg)")
		return nil, err
	}
	cred, ok := p.creds.Get(req.Credential)
	if !ok || cred.in == nil {
		return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "kerberos: no inbound credentials")
	}
	kdc, err := p.krb()
	if err != nil {
		return nil, err
	}
	id, body, err := parseToken(req.Token)
	if err != nil {
		return nil, err
	}
	if id != tokAPReq {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: expected an AP-REQ, got a token with TOK_ID %#04x (%v)", uint16(id), id)
	}
	acc := krb5.Acceptor{
		Keytab:          cred.in.keytab,
		Service:         cred.in.service,
		ReplayCache:     lsaReplayCache{p.lsa},
		ClockSkew:       kdc.Config.ClockSkew,
		PermittedETypes: kdc.Config.PermittedETypes,
		Time:            p.lsa.Now,
		Rand:            p.lsa.Rand(),
		Logger:          p.log,
	}
	if req.Bindings != nil {
		acc.Bindings = req.Bindings.GSSEncoding()
		acc.RequireBindings = p.cfg.RequireBindings && req.Flags&secpkg.ASCReqAllowMissingBindings == 0
	}
	got, err := acc.VerifyAPReq(ctx, body)
	if err != nil {
		p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: "", Reason: err.Error(), Status: secpkg.StatusOf(err)})
		return nil, err
	}
	defer func() {
		got.Subkey.Destroy()
		got.SessionKey.Destroy()
		destroyCredential(got.Delegated)
	}()

	c := &lsaContext{
		client: got.Client,
		server: got.Server,
		start:  got.StartTime,
		expiry: got.EndTime,
		gss:    got.Flags,
		flags:  acceptorFlags(got),
	}
	var token []byte
	key, acceptorSubkey := got.SessionKey, false
	if !got.Subkey.IsZero() {
		key = got.Subkey
	}
	sendSeq := got.SeqNumber
	if got.MutualRequired {
		rep, err := got.NewAPRep(krb5.APRepOptions{Rand: p.lsa.Rand()})
		if err != nil {
			return nil, err
		}
		defer rep.Subkey.Destroy()
		token = frameToken(tokAPRep, rep.Message)
		key, acceptorSubkey, sendSeq = rep.Subkey, true, rep.SeqNumber
	}
	if err := c.establish(p, key, acceptorSubkey, got.SeqNumber, sendSeq); err != nil {
		return nil, err
	}
	c.identity = p.identity(got, c.flags)
	if got.Delegated != nil {
		logon, err := p.storeDelegated(ctx, got.Delegated)
		if err != nil {
			c.wipe()
			return nil, err
		}
		c.identity.LogonID = logon
	}
	p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonSuccess, Principal: got.Client.String()})
	h := p.ctxs.Add(c)
	return c.result(h, secpkg.StatusOK, token), nil
}

// lsaReplayCache is the LSA's replay cache (LSAFunctions.CheckReplay),
// shared by every acceptor of the LSA and kept across its restarts, as
// internal/krb5 wants one.
type lsaReplayCache struct{ lsa secpkg.LSAFunctions }

func (r lsaReplayCache) Store(ctx context.Context, key krb5.ReplayKey, expires time.Time) error {
	err := r.lsa.CheckReplay(ctx, key[:], expires)
	if errors.Is(err, secpkg.ErrReplay) {
		return errors.Join(krb5.ErrReplay, err)
	}
	return err
}

// storeDelegated puts the TGT a client delegated into a new network
// logon session of the caller that accepted the context, where only the
// LSA holds it.
func (p *lsaPackage) storeDelegated(ctx context.Context, tgt *krb5.Credential) (secpkg.LogonID, error) {
	user, realm := tgt.Client.NameString(), tgt.Client.Realm
	var id secpkg.LogonID
	var err error
	if n, ok := p.lsa.(secpkg.NetworkLogonCreator); ok {
		id, err = n.CreateNetworkLogonSession(ctx, user, realm)
	} else {
		id, err = p.lsa.CreateLogonSession(ctx, user, realm)
	}
	if err != nil {
		return 0, err
	}
	blob := storedTGT(tgt)
	defer clear(blob)
	if err := p.lsa.AddCredential(ctx, id, credKeyTGT, blob); err != nil {
		p.lsa.DeleteLogonSession(ctx, id)
		return 0, err
	}
	if _, err := p.sessions.cache(id, blob); err != nil {
		p.lsa.DeleteLogonSession(ctx, id)
		return 0, err
	}
	return id, nil
}
