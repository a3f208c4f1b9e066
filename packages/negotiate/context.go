package negotiate

import (
	"context"
	"encoding/asn1"
	"sync"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// lsaContext is one Negotiate context in the LSA: the negotiation state
// and the handle of the chosen package's context.
type lsaContext struct {
	mu   sync.Mutex
	cred *credential

	initiator bool
	// direct is set when the acceptor was given a raw Kerberos or NTLM
	// token instead of SPNEGO (Windows accepts both): Negotiate then
	// passes tokens through unchanged (SECPKG_NEGOTIATION_DIRECT).
	direct bool

	// The negotiation (RFC 4178 Section 5).
	mechTypes    []asn1.ObjectIdentifier // as offered by the initiator
	mechTypesDER []byte                  // what the mechListMIC covers
	chosen       subPackage              // the selected (or optimistic) package
	chosenOID    asn1.ObjectIdentifier   // the OID the selection names it by
	sub          secpkg.Handle           // the chosen package's context, or 0
	negoDone     bool                    // the first reply has settled the mechanism
	subComplete  bool                    // the chosen package's context is established
	micRequired  bool
	micSent      bool
	micReceived  bool
	complete     bool

	// What the chosen package returned when it completed, refreshed by
	// the mechListMIC exchange.
	flags       secpkg.ContextFlags
	expiry      time.Time
	mapped      bool
	contextData []byte

	// Target, flags and bindings of an initiator, for restarting with
	// the mechanism the acceptor selected.
	target   string
	reqFlags secpkg.ISCFlags
	ascFlags secpkg.ASCFlags
	bindings *secpkg.ChannelBindings
	dataRep  uint32
}

// deleteSub deletes the chosen package's context, if any.
func (c *lsaContext) deleteSub(ctx context.Context) error {
	if c.sub == 0 {
		return nil
	}
	h := c.sub
	c.sub = 0
	return c.chosen.lsa.DeleteContext(ctx, h)
}

// DeleteContext is SpDeleteContext.
func (p *lsaPackage) DeleteContext(ctx context.Context, h secpkg.Handle) error {
	c, ok := p.ctxs.Delete(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "negotiate: no such context")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deleteSub(ctx)
}

// context returns the established context h with its lock held.
func (p *lsaPackage) established(h secpkg.Handle) (*lsaContext, error) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "negotiate: no such context")
	}
	c.mu.Lock()
	if !c.complete || c.sub == 0 {
		c.mu.Unlock()
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "negotiate: context is not established")
	}
	return c, nil
}

// QueryContextAttributes is SpQueryContextAttributes: the chosen
// package's answer, with SECPKG_ATTR_NEGOTIATION_INFO naming it.
func (p *lsaPackage) QueryContextAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.ContextAttributes, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	a, err := c.chosen.lsa.QueryContextAttributes(ctx, c.sub)
	if err != nil {
		return nil, err
	}
	a.NegotiatedPackage = c.chosen.name
	a.NegotiationState = secpkg.NegotiationComplete
	return a, nil
}

// ContextMapped tells the chosen package that the LSA handed its context
// to the application.
func (p *lsaPackage) ContextMapped(ctx context.Context, h secpkg.Handle) {
	c, err := p.established(h)
	if err != nil {
		return
	}
	defer c.mu.Unlock()
	if m, ok := c.chosen.lsa.(secpkg.ContextMapper); ok {
		m.ContextMapped(ctx, c.sub)
	}
}

var errNoSupport = secpkg.Errorf(secpkg.StatusUnsupportedFunction, "negotiate: the chosen package does not support this")

// MakeSignature and the other LSAMessageProtector methods protect
// messages of an unmapped context through the chosen package.
func (p *lsaPackage) MakeSignature(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return p.protect(h, func(m secpkg.LSAMessageProtector, sub secpkg.Handle) error {
		return m.MakeSignature(ctx, sub, qop, msg, seq)
	})
}

// VerifySignature is SpVerifySignature in the LSA.
func (p *lsaPackage) VerifySignature(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (qop uint32, err error) {
	err = p.protect(h, func(m secpkg.LSAMessageProtector, sub secpkg.Handle) error {
		qop, err = m.VerifySignature(ctx, sub, msg, seq)
		return err
	})
	return qop, err
}

// SealMessage is SpSealMessage in the LSA.
func (p *lsaPackage) SealMessage(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return p.protect(h, func(m secpkg.LSAMessageProtector, sub secpkg.Handle) error {
		return m.SealMessage(ctx, sub, qop, msg, seq)
	})
}

// UnsealMessage is SpUnsealMessage in the LSA.
func (p *lsaPackage) UnsealMessage(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (qop uint32, err error) {
	err = p.protect(h, func(m secpkg.LSAMessageProtector, sub secpkg.Handle) error {
		qop, err = m.UnsealMessage(ctx, sub, msg, seq)
		return err
	})
	return qop, err
}

func (p *lsaPackage) protect(h secpkg.Handle, f func(secpkg.LSAMessageProtector, secpkg.Handle) error) error {
	c, err := p.established(h)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	m, ok := c.chosen.lsa.(secpkg.LSAMessageProtector)
	if !ok {
		return errNoSupport
	}
	return f(m, c.sub)
}

// QuerySessionKey answers SECPKG_ATTR_SESSION_KEY for an unmapped
// context.
func (p *lsaPackage) QuerySessionKey(ctx context.Context, h secpkg.Handle) ([]byte, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	q, ok := c.chosen.lsa.(secpkg.SessionKeyQuerier)
	if !ok {
		return nil, errNoSupport
	}
	return q.QuerySessionKey(ctx, c.sub)
}

// CallPackage carries the chosen package's user-mode callbacks to its
// LSA-mode half.
func (p *lsaPackage) CallPackage(ctx context.Context, h secpkg.Handle, id uint32, input []byte) ([]byte, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	cp, ok := c.chosen.lsa.(secpkg.CallPackager)
	if !ok {
		return nil, errNoSupport
	}
	return cp.CallPackage(ctx, c.sub, id, input)
}

// result is the ContextResult of a leg of h: while the negotiation goes
// on, the chosen package's flags; when it completes, the chosen package's
// packed context wrapped in Negotiate's (packed.go).
func (c *lsaContext) result(h secpkg.Handle, token []byte) *secpkg.ContextResult {
	r := &secpkg.ContextResult{Context: h, Status: secpkg.StatusContinueNeeded, Token: token, Flags: c.flags, Expiry: c.expiry}
	if c.complete {
		r.Status = secpkg.StatusOK
		if c.mapped {
			r.Mapped = true
			r.ContextData = packContext(c.chosen.name, c.contextData)
		}
	}
	return r
}

// recordSub keeps what the chosen package's leg returned.
func (c *lsaContext) recordSub(r *secpkg.ContextResult) {
	c.sub = r.Context
	c.flags, c.expiry = r.Flags, r.Expiry
	if r.Status == secpkg.StatusOK {
		c.subComplete = true
		c.mapped, c.contextData = r.Mapped, r.ContextData
	}
}

// integrity reports whether the chosen package's context can make a
// mechListMIC (RFC 4178 Section 5 exchanges one only then).
func (c *lsaContext) integrity() bool {
	_, ok := c.chosen.lsa.(secpkg.MechListMICer)
	return ok && c.flags&secpkg.FlagIntegrity != 0
}

var (
	errDefective = secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: defective token")
	errSecondMIC = secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: a second mechListMIC")
	errMissedMIC = secpkg.Errorf(secpkg.StatusDowngradeDetected, "negotiate: the peer sent its last token without the mechListMIC the negotiation requires")
)

// handleMIC verifies the peer's mechListMIC and makes ours, as RFC 4178
// Section 5 and MS-SPNG 3.3.5.1 require, once the chosen package's
// context is established and can make MICs. sending says whether this
// leg also carries a token of the chosen package. It returns our MIC, or
// nil, and reports whether both MICs have now been exchanged, which
// completes the negotiation.
func (c *lsaContext) handleMIC(ctx context.Context, micIn []byte, sending bool) (micOut []byte, exchanged bool, err error) {
	m := c.chosen.lsa.(secpkg.MechListMICer)
	if micIn != nil {
		if c.micReceived {
			return nil, false, errSecondMIC
		}
		data, err := m.VerifyMechListMIC(ctx, c.sub, c.mechTypesDER, micIn)
		if err != nil {
			// A MIC that does not verify means the mechanism list was
			// rewritten: a downgrade attempt, or a corrupted token.
			if secpkg.StatusOf(err) == secpkg.StatusMessageAltered {
				err = secpkg.Errorf(secpkg.StatusDowngradeDetected, "negotiate: the peer's mechListMIC does not match the mechanism list: %w", err)
			}
			return nil, false, err
		}
		if data != nil {
			c.contextData = data
		}
		// A MIC received must be answered (RFC 4178 Section 5).
		c.micRequired, c.micReceived = true, true
	} else if c.micRequired && !sending {
		// The peer's last token must carry the MIC when the
		// negotiation requires one.
		return nil, false, errMissedMIC
	}
	if c.micRequired && !c.micSent {
		mic, data, err := m.MakeMechListMIC(ctx, c.sub, c.mechTypesDER)
		if err != nil {
			return nil, false, err
		}
		if data != nil {
			c.contextData = data
		}
		micOut, c.micSent = mic, true
	}
	return micOut, c.micSent && c.micReceived, nil
}
