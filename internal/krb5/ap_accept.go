package krb5

// The acceptor's half of the AP exchange for the GSS mechanism: every
// check of an AP-REQ (RFC 4120 3.2.3, RFC 4121 4.1.1, MIT's
// krb5_rd_req_decoded and krb5_gss_accept_sec_context), and the AP-REP
// that answers it (RFC 4120 3.2.4).

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// Acceptor verifies AP-REQs for the services of a keytab. Its fields are
// set before first use and not changed after; one Acceptor serves many
// callers at once.
type Acceptor struct {
	// Keytab holds the services' long-term keys.
	Keytab *Keytab
	// Service, if set, is the only principal accepted: a ticket for any
	// other is refused (KRB_AP_ERR_NOT_US). Unset, any principal of the
	// keytab is accepted (GSS_C_NO_NAME).
	Service *Principal
	// ReplayCache records authenticators; required (an Acceptor without
	// one refuses every AP-REQ).
	ReplayCache ReplayCache
	// ClockSkew is the tolerance of ticket times and of the
	// authenticator's time (default 5 minutes).
	ClockSkew time.Duration
	// Bindings are the channel bindings expected (flat form, as given to
	// NewAPReq); nil means none. RequireBindings refuses an initiator
	// that sends none (and, with Bindings nil, any initiator: a service
	// that must be reached through a bound channel).
	Bindings        []byte
	RequireBindings bool
	// PermittedETypes are the encryption types of tickets, session keys
	// and subkeys accepted (nil: DefaultETypes).
	PermittedETypes []EType
	// Time and Rand replace time.Now and crypto/rand.Reader.
	Time func() time.Time
	Rand io.Reader
	// Logger receives debug records, never a key (nil: silent).
	Logger *slog.Logger
}

// AcceptedAPReq is a verified AP-REQ: who the client is (from the
// ticket's encrypted part), which of our principals the ticket was for
// (the one whose key opened it), and the keys and numbers the GSS
// context continues with.
type AcceptedAPReq struct {
	Client      Principal // the ticket's crealm and cname
	Server      Principal // the principal whose key decrypted the ticket
	KVNO        uint32    // of that key
	TicketEType EType
	TicketFlags TicketFlags
	AuthTime    time.Time
	StartTime   time.Time
	EndTime     time.Time // the context expires with the ticket
	RenewTill   time.Time
	Transited   []byte // the realms the ticket came through (empty within a realm)

	SessionKey   Key // the ticket's session key
	Subkey       Key // the initiator's subkey, zero if none
	SeqNumber    uint32
	HasSeqNumber bool
	CTime        time.Time
	Cusec        int32

	MutualRequired bool           // the initiator wants an AP-REP
	Flags          GSSFlags       // from the GSS checksum; GSSDeleg only with Delegated
	Bindings       BindingsResult // how channel bindings were treated
	Delegated      *Credential    // the forwarded TGT the initiator delegated, if any
	PAC            *PAC           // the ticket's PAC, verified, or nil if it has none
}

// String shows the result without its keys.
func (a *AcceptedAPReq) String() string {
	return fmt.Sprintf("krb5.AcceptedAPReq(%v to %v, flags %v, bindings %v, delegated %t)",
		a.Client, a.Server, a.Flags, a.Bindings, a.Delegated != nil)
}

// maxTicketKeysTried bounds the keys tried on one ticket (key rotation
// keeps a few versions).
const maxTicketKeysTried = 8

func (a *Acceptor) skew() time.Duration {
	if a.ClockSkew > 0 {
		return a.ClockSkew
	}
	return defaultClockSkew
}

func (a *Acceptor) permits(e EType) bool {
	list := a.PermittedETypes
	if list == nil {
		list = DefaultETypes
	}
	return e.Supported() && slices.Contains(list, e)
}

// VerifyAPReq verifies an AP-REQ. The checks, in order, each with its
// error code: the message and its options (KRB_AP_ERR_MSG_TYPE,
// KDC_ERR_BADOPTION); the ticket's principal against Service
// (KRB_AP_ERR_NOT_US) and its encryption type; its decryption with the
// keytab key chosen by the ticket's sname, kvno and etype (with Service
// set, the ticket's kvno must be in the keytab, as MIT requires of a
// named acceptor; without, other versions are tried too)
// (KRB_AP_ERR_NOKEY, KRB_AP_ERR_BADKEYVER, KRB_AP_ERR_MODIFIED); the ticket's times with ClockSkew
// (KRB_AP_ERR_TKT_NYV, KRB_AP_ERR_TKT_EXPIRED); the authenticator's
// decryption with the session key, usage 11 (KRB_AP_ERR_BAD_INTEGRITY);
// its crealm and cname against the ticket's (KRB_AP_ERR_BADMATCH); its
// time (KRB_AP_ERR_SKEW); the GSS checksum (KRB_AP_ERR_INAPP_CKSUM) and
// its channel bindings (SEC_E_BAD_BINDINGS); the PAC's server signature;
// the delegated KRB-CRED; and last the replay cache (KRB_AP_ERR_REPEAT).
// The error carries the code for MarshalKRBError and a SEC_E_* status.
func (a *Acceptor) VerifyAPReq(ctx context.Context, b []byte) (*AcceptedAPReq, error) {
	if a.Keytab == nil {
		return nil, statusErr(secpkg.StatusNoCredentials, nil, "krb5: acceptor has no keytab")
	}
	if a.ReplayCache == nil {
		return nil, statusErr(secpkg.StatusInternalError, nil, "krb5: acceptor has no replay cache")
	}
	now := time.Now()
	if a.Time != nil {
		now = a.Time()
	}
	skew := a.skew()
	if messageType(b) != tagAPReq {
		return nil, protoErr(APErrMsgType, "krb5: expected an AP-REQ, got message type %d", messageType(b))
	}
	var m apReq
	if err := m.unmarshal(b); err != nil {
		return nil, protoErr(APErrMsgType, "%v", err)
	}
	if m.Options&apOptUseSessionKey != 0 {
		return nil, protoErr(KDCErrBadOption, "krb5: user-to-user AP-REQs are not supported")
	}
	if extra := m.Options &^ (apOptUseSessionKey | apOptMutualRequired); extra != 0 {
		// RFC 4120 5.5.1 defines no other option; an AP-REQ with one was
		// made by something we do not understand, or altered on its way.
		return nil, protoErr(KDCErrBadOption, "krb5: AP-REQ with unknown options %#08x", extra)
	}

	// The ticket, opened with a key of ours.
	tkt := m.Ticket
	if !a.permits(tkt.EncPart.EType) {
		return nil, protoErr(KDCErrETypeNoSupp, "krb5: ticket encrypted with %v, which is not permitted", tkt.EncPart.EType)
	}
	if a.Service != nil && !tkt.SName.Equal(*a.Service) {
		return nil, protoErr(APErrNotUs, "krb5: ticket for %v, this acceptor is %v", tkt.SName, *a.Service)
	}
	candidates := a.Keytab.candidates(tkt.SName, tkt.EncPart.KVNO, tkt.EncPart.EType)
	if len(candidates) == 0 {
		return nil, protoErr(APErrNoKey, "krb5: no %v key for %v in the keytab", tkt.EncPart.EType, tkt.SName)
	}
	if a.Service != nil && tkt.EncPart.HasKVNO && !candidates[0].matches(tkt.EncPart.KVNO) {
		// An acceptor bound to one principal wants the ticket's key
		// version, as MIT's does ("keytab is likely out of date"); only
		// one accepting as any principal of its keytab tries the others.
		return nil, protoErr(APErrBadKeyVer, "krb5: no key of version %d for %v in the keytab (it is likely out of date)", tkt.EncPart.KVNO, tkt.SName)
	}
	if len(candidates) > maxTicketKeysTried {
		candidates = candidates[:maxTicketKeysTried]
	}
	var enc encTicketPart
	var used KeytabEntry
	var pt []byte
	for _, kte := range candidates {
		var err error
		if pt, err = tkt.EncPart.open(kte.Key, usageTicket); err == nil {
			used = kte
			break
		}
	}
	if pt == nil {
		if tkt.EncPart.HasKVNO && !candidates[0].matches(tkt.EncPart.KVNO) {
			return nil, protoErr(APErrBadKeyVer, "krb5: no key of version %d for %v decrypts the ticket", tkt.EncPart.KVNO, tkt.SName)
		}
		return nil, protoErr(APErrModified, "krb5: the ticket for %v does not decrypt with our key", tkt.SName)
	}
	if err := enc.unmarshal(pt); err != nil {
		return nil, protoErr(APErrModified, "%v", err)
	}
	// From here on the server is the principal whose key opened the
	// ticket, never the plaintext sname.
	server := used.Principal
	if !a.permits(enc.Key.EType()) {
		return nil, protoErr(KDCErrETypeNoSupp, "krb5: ticket session key %v is not permitted", enc.Key.EType())
	}
	start := enc.StartTime
	if start.IsZero() {
		start = enc.AuthTime
	}
	if enc.Flags.Has(FlagInvalid) {
		return nil, protoErr(APErrTktNYV, "krb5: the ticket is marked invalid")
	}
	if start.Sub(now) > skew {
		return nil, protoErr(APErrTktNYV, "krb5: the ticket starts at %v, after now + skew", start.UTC())
	}
	if now.Sub(enc.EndTime) > skew {
		return nil, protoErr(APErrTktExpired, "krb5: the ticket expired at %v", enc.EndTime.UTC())
	}

	// The authenticator, opened with the ticket's session key.
	apt, err := m.Authenticator.open(enc.Key, usageAPReqAuth)
	if err != nil {
		return nil, protoErr(APErrBadIntegrity, "krb5: the authenticator does not decrypt with the session key")
	}
	var auth authenticator
	if err := auth.unmarshal(apt); err != nil {
		return nil, protoErr(APErrBadIntegrity, "%v", err)
	}
	if !auth.Client.Equal(enc.Client) {
		return nil, protoErr(APErrBadMatch, "krb5: the authenticator names %v, the ticket %v", auth.Client, enc.Client)
	}
	ctime := auth.CTime.Add(time.Duration(auth.Cusec) * time.Microsecond)
	if d := ctime.Sub(now).Abs(); d > skew {
		return nil, protoErr(APErrSkew, "krb5: the authenticator's time is %v away from ours", d.Round(time.Second))
	}
	if !auth.Subkey.IsZero() && !a.permits(auth.Subkey.EType()) {
		return nil, protoErr(KDCErrETypeNoSupp, "krb5: subkey of type %v is not permitted", auth.Subkey.EType())
	}

	// The GSS checksum (RFC 4121 4.1.1).
	if auth.Cksum == nil || auth.Cksum.Type != ChecksumGSS {
		return nil, protoErr(APErrInappCksum, "krb5: the authenticator has no GSS (0x8003) checksum")
	}
	gc, err := parseGSSChecksum(auth.Cksum.Sum)
	if err != nil {
		return nil, protoErr(APErrInappCksum, "%v", err)
	}
	cbt, err := announcedBindings(auth.AuthData)
	if err != nil {
		return nil, protoErr(APErrBadIntegrity, "%v", err)
	}
	bres, err := checkBindings(gc.Bnd, a.Bindings, a.RequireBindings, cbt)
	if err != nil {
		// MIT's acceptor answers KRB_ERR_GENERIC; so does MarshalKRBError.
		return nil, &secpkg.Error{Status: secpkg.StatusBadBindings, Detail: "krb5: channel bindings refused", Err: errors.Join(err, KRBErrGeneric)}
	}

	res := &AcceptedAPReq{
		Client:         enc.Client,
		Server:         server,
		KVNO:           used.KVNO,
		TicketEType:    tkt.EncPart.EType,
		TicketFlags:    enc.Flags,
		AuthTime:       enc.AuthTime,
		StartTime:      start,
		EndTime:        enc.EndTime,
		RenewTill:      enc.RenewTill,
		Transited:      enc.Transited,
		SessionKey:     enc.Key,
		Subkey:         auth.Subkey,
		SeqNumber:      auth.SeqNumber,
		HasSeqNumber:   auth.HasSeq,
		CTime:          auth.CTime,
		Cusec:          auth.Cusec,
		MutualRequired: m.Options&apOptMutualRequired != 0,
		Flags:          gc.Flags,
		Bindings:       bres,
	}

	// The PAC, if the KDC put one in the ticket.
	if res.PAC, err = ticketPAC(enc.AuthData, used.Key, enc.Client, enc.AuthTime); err != nil {
		return nil, &secpkg.Error{Status: secpkg.StatusLogonDenied, Detail: "krb5: the ticket's PAC is refused: " + err.Error(), Err: errors.Join(err, APErrModified)}
	}

	// Delegated credentials (RFC 4121 4.1.1): a forwarded TGT of the
	// authenticated client.
	if gc.Deleg != nil {
		creds, err := ParseKRBCred(gc.Deleg, enc.Key, auth.Subkey)
		if err != nil {
			return nil, statusErr(secpkg.StatusLogonDenied, errors.Join(err, APErrBadIntegrity), "krb5: delegated credentials refused: %v", err)
		}
		d := creds[0]
		if len(creds) != 1 || !d.Client.Equal(enc.Client) || !d.Server.IsTGS() {
			return nil, statusErr(secpkg.StatusLogonDenied, APErrBadMatch, "krb5: delegated credential for %v to %v, the client is %v", d.Client, d.Server, enc.Client)
		}
		if !a.permits(d.SessionKey.EType()) {
			return nil, protoErr(KDCErrETypeNoSupp, "krb5: delegated session key %v is not permitted", d.SessionKey.EType())
		}
		res.Delegated = d
	}

	// Last, the replay cache: only an authenticator that passed every
	// check is recorded.
	key := replayKey(enc.Client, a.Keytab.canonical(used), auth.CTime, auth.Cusec, m.Authenticator.Cipher)
	expires := ctime.Add(skew)
	if now.After(ctime) {
		expires = now.Add(skew)
	}
	if err := a.ReplayCache.Store(ctx, key, expires); err != nil {
		if errors.Is(err, ErrReplay) {
			return nil, protoErr(APErrRepeat, "krb5: authenticator of %v replayed", enc.Client)
		}
		return nil, statusErr(secpkg.StatusInternalError, err, "krb5: replay cache: %v", err)
	}
	if a.Logger != nil && a.Logger.Enabled(ctx, slog.LevelDebug) {
		a.Logger.DebugContext(ctx, "krb5: AP-REQ accepted", "client", res.Client.String(), "server", server.String(),
			"flags", res.Flags.String(), "bindings", res.Bindings.String())
	}
	return res, nil
}

// announcedBindings finds KERB_AP_OPTIONS_CBT in the authenticator's
// AD-IF-RELEVANT (MS-KILE 3.2.5.8).
func announcedBindings(ad []typedData) (bool, error) {
	for _, d := range ad {
		if d.Type != adIfRelevant {
			continue
		}
		inner, err := parseAuthData(d.Data)
		if err != nil {
			return false, err
		}
		for _, e := range inner {
			if e.Type == adAPOptions && len(e.Data) == 4 && binary.LittleEndian.Uint32(e.Data)&kerbAPOptionsCBT != 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

// APRepOptions are an acceptor's choices for its AP-REP.
type APRepOptions struct {
	// NoSubkey leaves out the acceptor subkey (RFC 4121 2: the acceptor
	// may assert its own; MIT and Windows do).
	NoSubkey bool
	// Rand replaces crypto/rand.Reader.
	Rand io.Reader
}

// AcceptorAPRep is an AP-REP built by an acceptor, with the subkey and
// sequence number it chose.
type AcceptorAPRep struct {
	Message   []byte
	Subkey    Key // zero with NoSubkey
	SeqNumber uint32
}

// String shows the AP-REP without its key.
func (r *AcceptorAPRep) String() string {
	return fmt.Sprintf("krb5.AcceptorAPRep(subkey %v, seq %d)", r.Subkey.EType(), r.SeqNumber)
}

// NewAPRep builds the AP-REP that answers a verified AP-REQ (RFC 4120
// 3.2.4): its ctime and cusec, an acceptor subkey of the type of the
// initiator's subkey (or of the session key), and a random sequence
// number, encrypted in the ticket's session key with usage 12.
func (a *AcceptedAPReq) NewAPRep(opts APRepOptions) (*AcceptorAPRep, error) {
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	var seqb [4]byte
	if _, err := io.ReadFull(r, seqb[:]); err != nil {
		return nil, statusErr(secpkg.StatusInternalError, err, "krb5: sequence number: %v", err)
	}
	out := &AcceptorAPRep{SeqNumber: binary.BigEndian.Uint32(seqb[:]) & 0x3fffffff}
	if !opts.NoSubkey {
		e := a.SessionKey.EType()
		if !a.Subkey.IsZero() {
			e = a.Subkey.EType()
		}
		k, err := GenerateKey(e, r)
		if err != nil {
			return nil, statusErr(secpkg.StatusInternalError, err, "%v", err)
		}
		out.Subkey = k
	}
	enc := encAPRepPart{CTime: a.CTime, Cusec: a.Cusec, Subkey: out.Subkey, SeqNumber: out.SeqNumber, HasSeq: true}
	ed, err := seal(a.SessionKey, usageAPRep, enc.marshal(), 0, false)
	if err != nil {
		return nil, statusErr(secpkg.StatusInternalError, err, "%v", err)
	}
	out.Message = (&apRep{EncPart: ed}).marshal()
	return out, nil
}
