package krb5

// The initiator's half of the AP exchange for the GSS mechanism: building
// the AP-REQ (RFC 4120 3.2.2, RFC 4121 4.1) and checking the AP-REP
// (RFC 4120 3.2.5) or KRB-ERROR that answers it.

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// APReqOptions are the choices of an initiator building an AP-REQ.
type APReqOptions struct {
	// Flags are the context flags the initiator asks for (RFC 4121
	// 4.1.1.1). GSSDeleg is set when Delegate is given and cleared
	// otherwise.
	Flags GSSFlags
	// MutualRequired sets the mutual-required AP option (RFC 4120
	// 5.5.1): the acceptor must answer with an AP-REP. GSS sets it with
	// GSSMutual.
	MutualRequired bool
	// Bindings are the channel bindings in their flat form
	// (secpkg.ChannelBindings.GSSEncoding); nil means none (an all-zero
	// Bnd).
	Bindings []byte
	// AnnounceBindings adds KERB_AP_OPTIONS_CBT (MS-KILE 3.2.5.8) to the
	// authenticator, telling the acceptor this initiator always sends
	// bindings when it has them (MIT's client_aware_channel_bindings).
	AnnounceBindings bool
	// Delegate is a forwarded TGT (Client.GetForwardedTGT) to delegate to
	// the acceptor in a KRB-CRED; nil delegates nothing. Callers check
	// Config.MayDelegate first.
	Delegate *Credential
	// Time and Rand replace time.Now and crypto/rand.Reader.
	Time func() time.Time
	Rand io.Reader
}

// APReq is an AP-REQ built by an initiator, with what its context needs
// to continue: the keys, its sequence number, and what identifies the
// authenticator that the acceptor's AP-REP must echo.
type APReq struct {
	Message    []byte // the KRB_AP_REQ, DER; the GSS token's body
	SessionKey Key    // the ticket's session key
	Subkey     Key    // the initiator's subkey (RFC 4121 2: of the session key's type)
	SeqNumber  uint32 // the initiator's first sequence number
	CTime      time.Time
	Cusec      int32
	Flags      GSSFlags // the flags sent in the GSS checksum
	Mutual     bool     // mutual-required was set
	Client     Principal
	Server     Principal
}

// String shows the AP-REQ without its keys.
func (a *APReq) String() string {
	return fmt.Sprintf("krb5.APReq(%v to %v, flags %v)", a.Client, a.Server, a.Flags)
}

// NewAPReq builds an AP-REQ for the service ticket cred (RFC 4121 4.1.1):
// an authenticator with the 0x8003 checksum, a fresh subkey of the
// session key's type and a random sequence number, encrypted in the
// session key with usage 11.
func NewAPReq(cred *Credential, opts APReqOptions) (*APReq, error) {
	if cred == nil || len(cred.Ticket) == 0 || cred.SessionKey.IsZero() {
		return nil, errNoCred("an AP-REQ")
	}
	now := time.Now()
	if opts.Time != nil {
		now = opts.Time()
	}
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	subkey, err := GenerateKey(cred.SessionKey.EType(), r)
	if err != nil {
		return nil, statusErr(secpkg.StatusInternalError, err, "%v", err)
	}
	var seqb [4]byte
	if _, err := io.ReadFull(r, seqb[:]); err != nil {
		return nil, statusErr(secpkg.StatusInternalError, err, "krb5: sequence number: %v", err)
	}
	// MIT draws 30 bits, leaving room before a 32-bit wrap.
	seq := binary.BigEndian.Uint32(seqb[:]) & 0x3fffffff

	gc := gssChecksum{Bnd: bindingsHash(opts.Bindings), Flags: opts.Flags &^ GSSDeleg}
	ctime := now.UTC().Truncate(time.Second)
	cusec := int32(now.Nanosecond() / 1000)
	if opts.Delegate != nil {
		// RFC 4121 4.1.1: the KRB-CRED is encrypted in the session key.
		kc, err := MarshalKRBCred(opts.Delegate, cred.SessionKey, now)
		if err != nil {
			return nil, statusErr(secpkg.StatusInternalError, err, "krb5: delegation: %v", err)
		}
		if len(kc) > 0xffff {
			return nil, statusErr(secpkg.StatusInternalError, nil, "krb5: delegated credentials too large")
		}
		gc.Deleg = kc
		gc.Flags |= GSSDeleg
	}
	auth := authenticator{
		Client:    cred.Client,
		Cksum:     &checksum{Type: ChecksumGSS, Sum: gc.marshal()},
		Cusec:     cusec,
		CTime:     ctime,
		Subkey:    subkey,
		SeqNumber: seq,
		HasSeq:    true,
	}
	if opts.AnnounceBindings {
		opt := binary.LittleEndian.AppendUint32(nil, kerbAPOptionsCBT)
		auth.AuthData = []typedData{{Type: adIfRelevant, Data: marshalAuthData([]typedData{{Type: adAPOptions, Data: opt}})}}
	}
	encAuth, err := seal(cred.SessionKey, usageAPReqAuth, auth.marshal(), 0, false)
	if err != nil {
		return nil, statusErr(secpkg.StatusInternalError, err, "%v", err)
	}
	m := apReq{Ticket: ticket{Raw: cred.Ticket}, Authenticator: encAuth}
	if opts.MutualRequired {
		m.Options |= apOptMutualRequired
	}
	return &APReq{
		Message:    m.marshal(),
		SessionKey: cred.SessionKey,
		Subkey:     subkey,
		SeqNumber:  seq,
		CTime:      ctime,
		Cusec:      cusec,
		Flags:      gc.Flags,
		Mutual:     opts.MutualRequired,
		Client:     cred.Client,
		Server:     cred.Server,
	}, nil
}

// KERB_AP_OPTIONS_CBT (MS-KILE 2.2.11).
const kerbAPOptionsCBT = 0x4000

// APRep is what an initiator learns from a verified AP-REP.
type APRep struct {
	Subkey       Key // the acceptor's subkey, zero if it sent none
	SeqNumber    uint32
	HasSeqNumber bool
}

// String shows the AP-REP without its key.
func (r *APRep) String() string {
	return fmt.Sprintf("krb5.APRep(subkey %v, seq %d)", r.Subkey.EType(), r.SeqNumber)
}

// ErrMutualAuth is the cause of an AP-REP that does not prove the
// acceptor (SEC_E_MUTUAL_AUTH_FAILED).
var ErrMutualAuth = errors.New("krb5: the AP-REP does not answer our authenticator")

// VerifyAPRep checks the acceptor's answer to a (RFC 4120 3.2.5): it must
// decrypt with the session key (usage 12) and echo our ctime and cusec.
// A KRB-ERROR in its place is returned as an error carrying the
// acceptor's code (the *KRBError is in the chain).
func (a *APReq) VerifyAPRep(b []byte) (*APRep, error) {
	switch messageType(b) {
	case tagKRBError:
		ke, err := ParseKRBError(b)
		if err != nil {
			return nil, err
		}
		return nil, statusErr(ke.Code.Status(), ke, "krb5: the acceptor refused the AP-REQ: %v", ke.Code)
	case tagAPRep:
	default:
		return nil, statusErr(secpkg.StatusInvalidToken, nil, "krb5: expected an AP-REP, got message type %d", messageType(b))
	}
	var m apRep
	if err := m.unmarshal(b); err != nil {
		return nil, statusErr(secpkg.StatusInvalidToken, err, "%v", err)
	}
	pt, err := m.EncPart.open(a.SessionKey, usageAPRep)
	if err != nil {
		return nil, statusErr(secpkg.StatusMutualAuthFailed, errors.Join(ErrMutualAuth, err), "krb5: the AP-REP does not decrypt with the session key")
	}
	var enc encAPRepPart
	if err := enc.unmarshal(pt); err != nil {
		return nil, statusErr(secpkg.StatusMutualAuthFailed, ErrMutualAuth, "%v", err)
	}
	if !enc.CTime.Equal(a.CTime) || enc.Cusec != a.Cusec {
		return nil, statusErr(secpkg.StatusMutualAuthFailed, ErrMutualAuth, "krb5: the AP-REP echoes %v.%06d, we sent %v.%06d",
			enc.CTime.Unix(), enc.Cusec, a.CTime.Unix(), a.Cusec)
	}
	if e := enc.Subkey.EType(); e == RC4HMAC && a.SessionKey.EType() != RC4HMAC {
		return nil, statusErr(secpkg.StatusMutualAuthFailed, ErrMutualAuth, "krb5: the acceptor's subkey is %v, weaker than the session key", e)
	}
	return &APRep{Subkey: enc.Subkey, SeqNumber: enc.SeqNumber, HasSeqNumber: enc.HasSeq}, nil
}
