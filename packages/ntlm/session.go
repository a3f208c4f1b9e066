package ntlm

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// role says which side of the exchange a context is.
type role uint8

// Roles, as stored in a packed context.
const (
	roleInitiator role = 1
	roleAcceptor  role = 2
)

// session is an established context: what per-message work needs and the
// names its attributes report. Both halves hold one; the packed context
// carries it from the LSA to the application. It holds session keys only,
// never a password or NT hash, and redacts itself.
type session struct {
	role        role
	flags       negotiateFlags      // the negotiated NegotiateFlags (MS-NLMP 3.1.1 NegFlg)
	ctxFlags    secpkg.ContextFlags // services the context provides
	hasKeys     bool                // false for anonymous: no session security
	exportedKey [16]byte            // ExportedSessionKey (MS-NLMP 3.1.5.1.2)
	sec         *sessionSecurity    // nil when !hasKeys
	start       time.Time
	expiry      time.Time // zero: never
	userName    string    // SECPKG_ATTR_NAMES
	clientName  string    // SECPKG_ATTR_NATIVE_NAMES sClientName
	serverName  string    // SECPKG_ATTR_NATIVE_NAMES sServerName
	// micPresent says the AUTHENTICATE_MESSAGE carried a MIC, which
	// makes SPNEGO's mechListMIC mandatory (MS-SPNG 3.3.5.1).
	micPresent bool

	exported bool // ExportContext was called: this copy must not be used again
	deleted  bool
	// mapped is set in the LSA-mode copy once the LSA has handed the
	// context to the application (ContextMapped): its keys are gone, and
	// per-message work happens in the application only.
	mapped bool
}

// String describes the session without its keys.
func (s *session) String() string {
	return fmt.Sprintf("ntlm.session{role:%d flags:%v user:%q keys:REDACTED}", s.role, s.flags, s.userName)
}

// GoString keeps the keys out of %#v.
func (s *session) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without the keys.
func (s *session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", s.userName), slog.String("flags", s.flags.String()), slog.String("keys", "REDACTED"))
}

// newSession builds the established state once the handshake is done.
func newSession(r role, flags negotiateFlags, ctxFlags secpkg.ContextFlags, exportedKey []byte, now time.Time) *session {
	s := &session{role: r, flags: flags, ctxFlags: ctxFlags, start: now}
	if exportedKey != nil {
		s.hasKeys = true
		copy(s.exportedKey[:], exportedKey)
		s.sec = newSessionSecurity(flags, exportedKey, r == roleInitiator, ctxFlags&(secpkg.FlagReplayDetect|secpkg.FlagSequenceDetect) != 0)
	}
	return s
}

// wipe zeroes the keys.
func (s *session) wipe() {
	clear(s.exportedKey[:])
	if s.sec != nil {
		s.sec.wipe()
		s.sec = nil
	}
	s.hasKeys = false
}

// usable fails once the session was exported, deleted or (in the LSA)
// mapped into the application.
func (s *session) usable() error {
	switch {
	case s.deleted:
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: context deleted")
	case s.exported:
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: context was exported and may not be used here again")
	case s.mapped:
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: context is mapped into the application; its keys are there")
	}
	return nil
}

// canSign checks that signing was negotiated.
func (s *session) canSign() error {
	if err := s.usable(); err != nil {
		return err
	}
	if !s.hasKeys || s.flags&(flagSign|flagSeal) == 0 {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: signing was not negotiated")
	}
	return nil
}

// makeSignature is SpMakeSignature (MS-NLMP 3.4.4).
func (s *session) makeSignature(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	if err := s.canSign(); err != nil {
		return err
	}
	if qop != 0 {
		return secpkg.Errorf(secpkg.StatusQOPNotSupported, "ntlm: quality of protection %#x", qop)
	}
	return s.sec.sign(msg, seq, false)
}

// verifySignature is SpVerifySignature.
func (s *session) verifySignature(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	if err := s.canSign(); err != nil {
		return 0, err
	}
	return 0, s.sec.verify(msg, seq, false)
}

// seal is SpSealMessage (MS-NLMP 3.4.3). With QOPWrapNoEncrypt it only
// signs; NTLM signatures do not say whether data was sealed, so the
// receiver may call VerifySignature or UnsealMessage, which then reports
// SECQOP_WRAP_NO_ENCRYPT.
func (s *session) seal(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	switch qop {
	case secpkg.QOPWrapNoEncrypt:
		return s.makeSignature(0, msg, seq)
	case 0:
	default:
		return secpkg.Errorf(secpkg.StatusQOPNotSupported, "ntlm: quality of protection %#x", qop)
	}
	if err := s.usable(); err != nil {
		return err
	}
	if !s.hasKeys || s.flags&flagSeal == 0 {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: sealing was not negotiated")
	}
	return s.sec.sign(msg, seq, true)
}

// unseal is SpUnsealMessage.
func (s *session) unseal(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	if !s.hasKeys {
		return 0, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: anonymous context has no session security")
	}
	if s.flags&flagSeal == 0 {
		// Without sealing, the peer can only have sent a message with
		// SECQOP_WRAP_NO_ENCRYPT: a signature.
		if err := s.sec.verify(msg, seq, false); err != nil {
			return 0, err
		}
		return secpkg.QOPWrapNoEncrypt, nil
	}
	err := s.sec.verify(msg, seq, true)
	if secpkg.StatusOf(err) != secpkg.StatusMessageAltered {
		return 0, err
	}
	// An NTLM signature does not say whether the data was sealed. A
	// failed check leaves buffers and key state untouched, so the message
	// can be checked again as one sent with SECQOP_WRAP_NO_ENCRYPT; each
	// reading is checked by the MAC over the plaintext, so neither can be
	// passed off as the other.
	if s.sec.verify(msg, seq, false) == nil {
		return secpkg.QOPWrapNoEncrypt, nil
	}
	return 0, err
}

// sessionKey answers SECPKG_ATTR_SESSION_KEY.
func (s *session) sessionKey() ([]byte, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if !s.hasKeys {
		return nil, secpkg.Errorf(secpkg.StatusNoContext, "ntlm: anonymous context has no session key")
	}
	return append([]byte(nil), s.exportedKey[:]...), nil
}

// sizes is SecPkgContext_Sizes for NTLM.
func sizes() secpkg.Sizes {
	return secpkg.Sizes{MaxToken: maxToken, MaxSignature: signatureSize, BlockSize: 0, SecurityTrailer: signatureSize}
}

// maxStreamMessage is the cbMaximumMessage NTLM reports: it has no record
// limit of its own, and a bounded value keeps stream framers from
// allocating without limit.
const maxStreamMessage = 1 << 20

// streamSizes is SecPkgContext_StreamSizes for NTLM: no header, the
// 16-byte signature as trailer.
func streamSizes() secpkg.StreamSizes {
	return secpkg.StreamSizes{Header: 0, Trailer: signatureSize, MaximumMessage: maxStreamMessage, Buffers: 2, BlockSize: 0}
}

// attributes answers SpQueryContextAttributes for an established context.
func (s *session) attributes(id *secpkg.Identity) *secpkg.ContextAttributes {
	return &secpkg.ContextAttributes{
		UserName:          s.userName,
		ClientName:        s.clientName,
		ServerName:        s.serverName,
		Start:             s.start,
		Expiry:            s.expiry,
		NegotiatedPackage: Name,
		NegotiationState:  secpkg.NegotiationComplete,
		Sizes:             sizes(),
		StreamSizes:       streamSizes(),
		Identity:          id,
	}
}
