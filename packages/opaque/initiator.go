package opaque

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// initiatorState is the client's handshake, discarded once KE3 is sent.
type initiatorState struct {
	p      *lsaPackage
	cred   *credential
	target string
	req    secpkg.ISCFlags
	client *Client // the RFC 9807 client state: password, blind, keyshare
	tok1   *ke1Token
	now    time.Time
}

func (hs *initiatorState) wipe() {
	if hs.client != nil {
		hs.client.wipe()
	}
}

// InitLsaModeContext is SpInitLsaModeContext: leg 1 sends KE1 with the
// client's names (SEC_I_CONTINUE_NEEDED); leg 2 takes KE2, runs the KSF,
// verifies the server and sends KE3 (SEC_E_OK: the server is
// authenticated, the context is established and mapped).
func (p *lsaPackage) InitLsaModeContext(ctx context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	if req.Context == 0 {
		return p.initFirst(ctx, req)
	}
	c, err := p.resume(req.Context, func(c *lsaContext) bool { return c.initiator != nil }, "an initiator awaiting KE2")
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	hs := c.initiator
	c.initiator = nil
	defer hs.wipe()
	tok3, sess, err := hs.finish(ctx, req.Token)
	if err != nil {
		c.err = err
		return nil, err
	}
	c.sess = sess
	return &secpkg.ContextResult{
		Context:     req.Context,
		Status:      secpkg.StatusOK,
		Token:       tok3,
		Flags:       sess.ctxFlags,
		Mapped:      true,
		ContextData: sess.pack(originEstablished),
	}, nil
}

// initFirst is leg 1: GenerateKE1 (RFC 9807 Section 6.2.1) in the KE1
// token.
func (p *lsaPackage) initFirst(ctx context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	cred, ok := p.creds.Get(req.Credential)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: no such credentials handle")
	}
	if cred.use&secpkg.CredentialOutbound == 0 {
		return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "opaque: credentials are not for outbound use")
	}
	if len(req.Token) != 0 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "opaque: input token on the first call")
	}
	if err := checkName("target", []byte(req.Target)); err != nil {
		return nil, secpkg.Errorf(secpkg.StatusTargetUnknown, "opaque: %v", err)
	}
	hs := &initiatorState{p: p, cred: cred, target: req.Target, req: req.Flags, now: p.lsa.Now()}
	hs.client = NewClient(&Config{Rand: p.rand()})
	ke1, err := hs.client.GenerateKE1(cred.password)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "%w", err)
	}
	hs.tok1 = &ke1Token{
		flags:  wireFlags(req.Flags.Context()),
		target: req.Target,
		domain: cred.domain,
		user:   cred.user,
		ke1:    ke1,
	}
	if req.Bindings != nil {
		hs.tok1.bindings = sha256.Sum256(req.Bindings.GSSEncoding())
	}
	tok := hs.tok1.marshal()
	h := p.ctxs.Add(&lsaContext{initiator: hs})
	return &secpkg.ContextResult{Context: h, Status: secpkg.StatusContinueNeeded, Token: tok}, nil
}

// finish is leg 2: the KE2 token in, GenerateKE3 (Section 6.2.3), the
// KE3 token out.
func (hs *initiatorState) finish(ctx context.Context, token []byte) ([]byte, *session, error) {
	p := hs.p
	tok2, err := parseKE2Token(token)
	if err != nil {
		return nil, nil, err
	}
	if err := p.cfg.ksfAllowed(tok2.ksf); err != nil {
		return nil, nil, secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "opaque: the server's KSF %v: %w", tok2.ksf, err)
	}
	in := loginInputs{
		context: loginContext(hs.tok1.header, tok2.header),
		stretch: func(msg []byte) ([]byte, error) { return p.stretch(ctx, tok2.ksf, msg) },
	}
	ke3, sessionKey, exportKey, err := hs.client.generateKE3(tok2.ke2, in)
	clear(exportKey)
	switch {
	case errors.Is(err, ErrEnvelopeRecovery), errors.Is(err, ErrServerAuthentication):
		return nil, nil, errClientLogonFailure
	case errors.Is(err, ErrInvalidMessage):
		return nil, nil, secpkg.Errorf(secpkg.StatusInvalidToken, "%w", err)
	case err != nil:
		return nil, nil, secpkg.Errorf(secpkg.StatusOf(err), "%w", err)
	}
	defer clear(sessionKey)
	sess, err := newSession(roleInitiator, sessionKey, contextFlags(hs.tok1.flags, tok2.flags), hs.now)
	if err != nil {
		return nil, nil, err
	}
	sess.userName, sess.clientName, sess.serverName = hs.cred.name, hs.cred.name, hs.target
	return marshalKE3Token(ke3), sess, nil
}

// stretch runs the KSF under the LSA's limits on concurrent stretches (in
// all and per caller uid, stretchLimiter). It waits for slots as long as
// ctx allows, and gives up waiting for the result when ctx ends; the
// stretch then runs on in the background, holding its slots (and its
// memory) until done, and its result is discarded.
func (p *lsaPackage) stretch(ctx context.Context, k KSF, msg []byte) ([]byte, error) {
	if k.orDefault().Algorithm == KSFInsecureIdentity {
		return k.Stretch(msg)
	}
	release, err := p.stretches.acquire(ctx)
	if err != nil {
		return nil, err
	}
	uid := callerOf(ctx).uid
	type result struct {
		out []byte
		err error
	}
	in := append([]byte(nil), msg...)
	done := make(chan result, 1)
	go func() {
		if h := testHookStretching; h != nil {
			h(uid)
		}
		out, err := k.Stretch(in)
		clear(in)
		release()
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		go func() { r := <-done; clear(r.out) }()
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "opaque: KSF abandoned: %w", ctx.Err())
	}
}

// testHookStretching, if set (by tests), is called with the caller's uid
// by a stretch once it holds its slots, before it runs the KSF.
var testHookStretching func(uid uint32)
