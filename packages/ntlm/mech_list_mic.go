package ntlm

import (
	"context"
	"errors"

	"github.com/opensspi/sspi/secpkg"
)

// The mechListMIC of SPNEGO (RFC 4178 section 5) when NTLM is the
// negotiated mechanism, for the Negotiate package, which makes and checks
// it inside the LSA on an NTLM context that is established and not yet
// mapped (secpkg.MechListMICer).
//
// The MIC is an NTLM signature (MS-NLMP 3.4.4) over the DER MechTypeList:
// it takes the next sequence number of its direction, 0 on a fresh
// context, and the number stays taken. MS-SPNG 3.3.5.1 then puts the RC4
// key state back as it was before the MIC ("OriginalHandle"), on the
// sending side after making the MIC and on the receiving side after
// checking it, so that the application's first message is sealed with
// the key stream the MIC used. The first message is therefore sequence
// number 1 with the RC4 state of a fresh context: what gss-ntlmssp does
// behind MIT's SPNEGO (GSS_NTLMSSP_RESET_CRYPTO_OID re-initializes RC4
// and leaves the sequence numbers alone) and what its peers expect. The
// 8 bytes of key stream that encrypt the MIC's checksum are thus used
// twice; MS-SPNG requires it.

var _ secpkg.MechListMICer = (*lsaPackage)(nil)

// MakeMechListMIC implements secpkg.MechListMICer: GSS_GetMIC over
// mechList with the sending state of context h, which then holds the RC4
// state it had before (MS-SPNG 3.3.5.1).
func (p *lsaPackage) MakeMechListMIC(ctx context.Context, h secpkg.Handle, mechList []byte) (mic, contextData []byte, err error) {
	c, err := p.established(h)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if mic, err = c.sess.makeMechListMIC(mechList); err != nil {
		return nil, nil, err
	}
	return mic, c.sess.pack(originEstablished), nil
}

// VerifyMechListMIC implements secpkg.MechListMICer: GSS_VerifyMIC of the
// peer's mic over mechList with the receiving state of context h, which
// then holds the RC4 state it had before (MS-SPNG 3.3.5.1). A MIC that
// does not verify leaves the context as it was.
func (p *lsaPackage) VerifyMechListMIC(ctx context.Context, h secpkg.Handle, mechList, mic []byte) (contextData []byte, err error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sess.verifyMechListMIC(mechList, mic); err != nil {
		return nil, err
	}
	return c.sess.pack(originEstablished), nil
}

// MechListMICRequired implements secpkg.MechListMICer: Windows requires
// the mechListMIC whenever the AUTHENTICATE_MESSAGE carried a MIC, even
// when NTLM was the initiator's first choice (MS-SPNG 3.3.5.1).
func (p *lsaPackage) MechListMICRequired(ctx context.Context, h secpkg.Handle) (bool, error) {
	c, err := p.established(h)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.micPresent, nil
}

// checkMechList bounds what is signed: a MechTypeList comes from a token.
func checkMechList(mechList []byte) error {
	if len(mechList) > maxMessageSize {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: mechList of %d bytes exceeds %d", len(mechList), maxMessageSize)
	}
	return nil
}

// makeMechListMIC signs mechList with the next sending sequence number and
// restores the sending RC4 state.
func (s *session) makeMechListMIC(mechList []byte) ([]byte, error) {
	if err := s.canSign(); err != nil {
		return nil, err
	}
	if err := checkMechList(mechList); err != nil {
		return nil, err
	}
	ss := s.sec
	original := *ss.send.h // OriginalHandle
	msg := []secpkg.Buffer{
		{Type: secpkg.BufferData | secpkg.BufferReadOnlyWithChecksum, Data: mechList},
		{Type: secpkg.BufferToken, Data: make([]byte, signatureSize)},
	}
	if err := ss.sign(msg, 0, false); err != nil {
		return nil, err
	}
	*ss.send.h = original
	original.wipe()
	return msg[1].Data, nil
}

// verifyMechListMIC checks the peer's mechListMIC with the next receiving
// sequence number and restores the receiving RC4 state. Any failure is
// SEC_E_MESSAGE_ALTERED: there is no replay window for a mechListMIC.
func (s *session) verifyMechListMIC(mechList, mic []byte) error {
	if err := s.canSign(); err != nil {
		return err
	}
	if err := checkMechList(mechList); err != nil {
		return err
	}
	ss := s.sec
	original := *ss.recv.h // OriginalHandle
	defer original.wipe()
	msg := []secpkg.Buffer{
		{Type: secpkg.BufferData | secpkg.BufferReadOnlyWithChecksum, Data: mechList},
		{Type: secpkg.BufferToken, Data: mic},
	}
	if err := ss.verify(msg, 0, false); err != nil {
		var e *secpkg.Error
		if errors.As(err, &e) && (e.Status == secpkg.StatusOutOfSequence || e.Status == secpkg.StatusMessageAltered) {
			return secpkg.Errorf(secpkg.StatusMessageAltered, "ntlm: mechListMIC does not verify: %s", e.Detail)
		}
		return err
	}
	*ss.recv.h = original
	return nil
}
