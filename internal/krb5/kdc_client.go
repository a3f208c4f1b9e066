package krb5

// The AS and TGS exchanges (RFC 4120 3.1 and 3.3), with every check of a
// reply that MIT's client makes (krb5int_process_tgs_reply,
// verify_as_reply, check_reply_server): only the encrypted part of a
// reply is believed, and it must match the request.

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

// Client performs KDC exchanges (the KDC client half of RFC 4120 3.1
// and 3.3). It holds no credentials and no state besides its
// configuration, so one Client serves many callers at once. Set Config;
// the other fields have working zero values.
type Client struct {
	// Config is the Kerberos configuration ([LoadConfig]). Nil is an
	// empty configuration: no realm has a KDC.
	Config *Config
	// Time returns the current time (nil: time.Now). Tests set it to move
	// this side's clock.
	Time func() time.Time
	// Rand is the source of nonces and keys (nil: crypto/rand.Reader).
	Rand io.Reader
	// AttemptTimeout bounds one attempt with one KDC (default 3 s); the
	// caller's context bounds the whole exchange.
	AttemptTimeout time.Duration
	// MaxReplySize bounds a KDC reply (default 512 KiB).
	MaxReplySize int
	// MaxReferrals bounds the referrals one TGS request follows
	// (default 5).
	MaxReferrals int
	// Logger receives debug records of the exchanges, never a key or a
	// password (nil: silent).
	Logger *slog.Logger

	// tamper, set by tests only, rewrites each KDC reply: the attacker
	// between this client and a real KDC.
	tamper func(rep []byte) []byte
}

func (c *Client) config() *Config {
	if c.Config != nil {
		return c.Config
	}
	return &Config{}
}

func (c *Client) now() time.Time {
	if c.Time != nil {
		return c.Time()
	}
	return time.Now()
}

func (c *Client) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

func (c *Client) logf(ctx context.Context, msg string, args ...any) {
	if c.Logger != nil {
		c.Logger.DebugContext(ctx, msg, args...)
	}
}

// nonce returns a random 31-bit nonce (RFC 4120 5.4.1), as MIT sends.
func (c *Client) nonce() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(c.rand(), b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]) & 0x7fffffff, nil
}

// Credential is a ticket with its session key and what the KDC said of
// it (krb5_creds): what a credentials cache holds. Every field comes from
// the encrypted part of the KDC reply, except Client (the reply's cname,
// checked against the request) and Ticket (opaque).
type Credential struct {
	Client     Principal
	Server     Principal
	Ticket     []byte // the Ticket, DER (RFC 4120 5.3)
	SessionKey Key
	Flags      TicketFlags
	AuthTime   time.Time
	StartTime  time.Time // AuthTime if the KDC sent none
	EndTime    time.Time
	RenewTill  time.Time // zero if not renewable
}

// String shows the credential without its session key.
func (c *Credential) String() string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("krb5.Credential(%v for %v, %v, flags %v, until %v)",
		c.Client, c.Server, c.SessionKey.EType(), c.Flags, c.EndTime.UTC().Format(time.RFC3339))
}

// GoString is String.
func (c *Credential) GoString() string { return c.String() }

// LogValue shows the credential without its session key.
func (c *Credential) LogValue() slog.Value {
	return slog.StringValue(c.String())
}

// TicketEType returns the encryption type of the ticket itself (that of
// the service's long-term key), or 0 if the ticket does not parse.
func (c *Credential) TicketEType() EType {
	t, err := parseTicket(c.Ticket)
	if err != nil {
		return 0
	}
	return t.EncPart.EType
}

// ValidAt reports whether the credential is usable at t with the given
// clock skew: started, not expired.
func (c *Credential) ValidAt(t time.Time, skew time.Duration) bool {
	return !t.Add(skew).Before(c.StartTime) && t.Before(c.EndTime.Add(skew))
}

// Errors of KDC replies, in MIT's terms. Each reaches the caller inside
// a secpkg.Error (errors.Is works).
var (
	// ErrKDCReplyModified: a reply does not match its request, or its
	// plaintext contradicts its encrypted part (KRB5_KDCREP_MODIFIED).
	ErrKDCReplyModified = errors.New("krb5: KDC reply does not match the request")
	// ErrKDCReplySkew: the KDC's clock and ours differ by more than the
	// allowed skew (KRB5_KDCREP_SKEW).
	ErrKDCReplySkew = errors.New("krb5: clock skew too great in KDC reply")
)

func modified(format string, args ...any) error {
	return statusErr(secpkg.StatusLogonDenied, ErrKDCReplyModified, "krb5: KDC reply refused: "+format, args...)
}

// ASOptions refine an AS exchange. The zero value asks for a TGT of the
// client's realm with the configured lifetime and encryption types.
type ASOptions struct {
	Server   Principal     // default krbtgt/REALM@REALM
	ETypes   []EType       // default: Config.DefaultTktETypes
	Lifetime time.Duration // default: Config.TicketLifetime
}

// GetInitialCredentialsPassword performs the AS exchange for client with
// a password (krb5_get_init_creds_password): pre-authentication by
// PA-ENC-TIMESTAMP when the KDC asks for it, with the salt and
// string-to-key parameters of its PA-ETYPE-INFO2.
//
// A wrong password and an unknown client both give SEC_E_LOGON_DENIED
// with the same detail; errors.Is tells KDC_ERR_PREAUTH_FAILED from
// KDC_ERR_C_PRINCIPAL_UNKNOWN for the local caller who needs it.
func (c *Client) GetInitialCredentialsPassword(ctx context.Context, client Principal, password string, opts *ASOptions) (*Credential, error) {
	return c.asExchange(ctx, client, &passwordKeys{password: password}, opts)
}

// GetInitialCredentialsKeytab performs the AS exchange for client with
// its keys from a keytab (krb5_get_init_creds_keytab), asking only for
// encryption types the keytab holds.
func (c *Client) GetInitialCredentialsKeytab(ctx context.Context, client Principal, kt *Keytab, opts *ASOptions) (*Credential, error) {
	return c.asExchange(ctx, client, &keytabKeys{kt: kt}, opts)
}

// clientKeys yields the client's long-term key for an encryption type.
type clientKeys interface {
	key(client Principal, e EType, kvno uint32, info *etypeInfo2Entry) (Key, error)
	limit(client Principal, etypes []EType) []EType
}

type passwordKeys struct {
	password string
	cache    []Key
	salts    []string
}

func (p *passwordKeys) key(client Principal, e EType, _ uint32, info *etypeInfo2Entry) (Key, error) {
	salt := defaultSalt(client)
	var params []byte
	if info != nil {
		if info.HasSalt {
			salt = info.Salt
		}
		params = info.S2KParams
	}
	for i, k := range p.cache {
		if k.EType() == e && p.salts[i] == salt+string(params) {
			return k, nil
		}
	}
	k, err := StringToKey(e, p.password, salt, params)
	if err != nil {
		return Key{}, err
	}
	p.cache = append(p.cache, k)
	p.salts = append(p.salts, salt+string(params))
	return k, nil
}

func (p *passwordKeys) limit(_ Principal, etypes []EType) []EType { return etypes }

type keytabKeys struct{ kt *Keytab }

func (k *keytabKeys) key(client Principal, e EType, kvno uint32, _ *etypeInfo2Entry) (Key, error) {
	en, err := k.kt.Key(client, kvno, e)
	if err != nil {
		return Key{}, err
	}
	return en.Key, nil
}

func (k *keytabKeys) limit(client Principal, etypes []EType) []EType {
	have := k.kt.etypesOf(client)
	return slices.DeleteFunc(slices.Clone(etypes), func(e EType) bool { return !slices.Contains(have, e) })
}

func (c *Client) asExchange(ctx context.Context, client Principal, keys clientKeys, opts *ASOptions) (*Credential, error) {
	if opts == nil {
		opts = &ASOptions{}
	}
	cfg := c.config()
	if client.Realm == "" || len(client.Components) == 0 {
		return nil, statusErr(secpkg.StatusUnknownCredentials, nil, "krb5: client principal %q has no realm", client.String())
	}
	server := opts.Server
	if server.IsZero() {
		server = TGSPrincipal(client.Realm, client.Realm)
	}
	etypes := keys.limit(client, cfg.requested(opts.ETypes))
	if opts.ETypes == nil && cfg.DefaultTktETypes != nil {
		etypes = keys.limit(client, cfg.requested(cfg.DefaultTktETypes))
	}
	if len(etypes) == 0 {
		return nil, statusErr(secpkg.StatusAlgorithmMismatch, nil, "krb5: no permitted encryption type for %v", client)
	}
	lifetime := opts.Lifetime
	if lifetime <= 0 {
		lifetime = cfg.ticketLifetime()
	}
	now := c.now()
	nonce, err := c.nonce()
	if err != nil {
		return nil, statusErr(secpkg.StatusInternalError, err, "krb5: nonce: %v", err)
	}
	cname := client
	if cname.Type == NameUnknown {
		cname.Type = NamePrincipal
	}
	body := kdcReqBody{
		Options: c.kdcOptions(),
		CName:   &cname,
		Realm:   client.Realm,
		SName:   &server,
		Till:    now.Add(lifetime),
		Nonce:   nonce,
		ETypes:  etypes,
	}
	if cfg.Canonicalize {
		body.Options |= kdcOptCanonicalize
	}
	if cfg.RenewLifetime > 0 {
		body.Options |= kdcOptRenewable
		body.RTime = now.Add(cfg.RenewLifetime)
	}
	bodyBytes := body.marshal()

	var padata []typedData
	var info []etypeInfo2Entry // from KDC_ERR_PREAUTH_REQUIRED
	for attempt := 0; ; attempt++ {
		rep, err := c.exchange(ctx, client.Realm, marshalKDCReq(msgASReq, padata, bodyBytes))
		if err != nil {
			return nil, err
		}
		if messageType(rep) == tagKRBError {
			ke, err := ParseKRBError(rep)
			if err != nil {
				return nil, err
			}
			if ke.Code == KDCErrPreauthRequired && padata == nil && attempt == 0 {
				padata, info, err = c.preauth(ke, client, etypes, keys)
				if err != nil {
					return nil, err
				}
				c.logf(ctx, "krb5: KDC requires pre-authentication", "client", client.String())
				continue
			}
			return nil, asError(ke)
		}
		if messageType(rep) != tagASRep {
			return nil, statusErr(secpkg.StatusLogonDenied, ErrKDCReplyModified, "krb5: KDC answered an AS-REQ with message type %d", messageType(rep))
		}
		return c.processASRep(rep, &body, keys, info)
	}
}

// kdcOptions are the KDC options every request carries by configuration.
func (c *Client) kdcOptions() uint32 {
	var o uint32
	if c.config().Forwardable {
		o |= kdcOptForwardable
	}
	if c.config().Proxiable {
		o |= kdcOptProxiable
	}
	return o
}

// asError turns a KDC's refusal of an AS-REQ into an error. Refusals
// that reveal whether the account exists share one detail and status.
func asError(ke *KRBError) error {
	switch ke.Code {
	case KDCErrCPrincipalUnknown, KDCErrPreauthFailed, KDCErrClientRevoked, KDCErrKeyExpired,
		KDCErrPolicy, APErrBadIntegrity:
		return &secpkg.Error{Status: secpkg.StatusLogonDenied, Detail: "krb5: the KDC refused the credentials", Err: ke}
	case APErrSkew:
		return statusErr(secpkg.StatusTimeSkew, ke, "krb5: the KDC says our clock is off by more than the allowed skew (%v)", ke.Code)
	}
	return statusErr(ke.Code.Status(), ke, "krb5: the KDC refused the request: %v", ke.Code)
}

// preauth builds PA-ENC-TIMESTAMP (RFC 4120 5.2.7.2) from the
// PA-ETYPE-INFO2 of a KDC_ERR_PREAUTH_REQUIRED: the first entry whose
// type we asked for.
func (c *Client) preauth(ke *KRBError, client Principal, etypes []EType, keys clientKeys) ([]typedData, []etypeInfo2Entry, error) {
	var info []etypeInfo2Entry
	if len(ke.EData) > 0 {
		md, err := parseMethodData(ke.EData)
		if err != nil {
			return nil, nil, statusErr(secpkg.StatusLogonDenied, err, "krb5: KDC_ERR_PREAUTH_REQUIRED: %v", err)
		}
		for _, pa := range md {
			if pa.Type == paETypeInfo2 {
				if info, err = parseETypeInfo2(pa.Data); err != nil {
					return nil, nil, statusErr(secpkg.StatusLogonDenied, err, "krb5: KDC_ERR_PREAUTH_REQUIRED: %v", err)
				}
			}
		}
	}
	var choice *etypeInfo2Entry
	for i := range info {
		if slices.Contains(etypes, info[i].EType) {
			choice = &info[i]
			break
		}
	}
	e := etypes[0]
	if choice != nil {
		e = choice.EType
	} else if len(info) > 0 {
		return nil, nil, statusErr(secpkg.StatusAlgorithmMismatch, nil, "krb5: the KDC offers no encryption type we asked for")
	}
	k, err := keys.key(client, e, 0, choice)
	if err != nil {
		return nil, nil, statusErr(secpkg.StatusLogonDenied, err, "krb5: client key: %v", err)
	}
	ed, err := seal(k, usageASReqTimestamp, marshalPAEncTSEnc(c.now()), 0, false)
	if err != nil {
		return nil, nil, statusErr(secpkg.StatusInternalError, err, "krb5: PA-ENC-TIMESTAMP: %v", err)
	}
	return []typedData{{Type: paEncTimestamp, Data: ed.marshal()}}, info, nil
}

// processASRep decrypts and checks an AS-REP (RFC 4120 3.1.5; MIT's
// verify_as_reply).
func (c *Client) processASRep(rep []byte, req *kdcReqBody, keys clientKeys, info []etypeInfo2Entry) (*Credential, error) {
	var m kdcRep
	if err := m.unmarshal(rep, msgASRep); err != nil {
		return nil, statusErr(secpkg.StatusLogonDenied, ErrKDCReplyModified, "%v", err)
	}
	if !slices.Contains(req.ETypes, m.EncPart.EType) {
		return nil, modified("AS-REP encrypted with %v, which was not requested", m.EncPart.EType)
	}
	// The reply's PA-ETYPE-INFO2 (sent when no pre-authentication took
	// place) gives the salt of the reply key.
	for _, pa := range m.PAData {
		if pa.Type == paETypeInfo2 {
			if l, err := parseETypeInfo2(pa.Data); err == nil {
				info = l
			}
		}
	}
	var entry *etypeInfo2Entry
	for i := range info {
		if info[i].EType == m.EncPart.EType {
			entry = &info[i]
		}
	}
	client := *req.CName
	client.Realm = req.Realm
	k, err := keys.key(client, m.EncPart.EType, m.EncPart.KVNO, entry)
	if err != nil {
		return nil, statusErr(secpkg.StatusLogonDenied, err, "krb5: client key: %v", err)
	}
	pt, err := m.EncPart.open(k, usageASRep)
	if err != nil {
		// The KDC accepted our pre-authentication but we cannot read its
		// answer: a forged reply, or a KDC that did not pre-authenticate.
		return nil, &secpkg.Error{Status: secpkg.StatusLogonDenied, Detail: "krb5: the KDC refused the credentials", Err: errors.Join(ErrKDCReplyModified, err)}
	}
	var enc encKDCRepPart
	if err := enc.unmarshal(pt); err != nil {
		return nil, statusErr(secpkg.StatusLogonDenied, ErrKDCReplyModified, "%v", err)
	}
	cred, err := c.checkKDCRep(&m, &enc, req, client)
	if err != nil {
		return nil, err
	}
	if !c.config().Canonicalize && !m.Client.Equal(client) {
		return nil, modified("AS-REP for client %v, requested %v", m.Client, client)
	}
	if m.Client.Realm != client.Realm {
		return nil, modified("AS-REP for realm %q, requested %q", m.Client.Realm, client.Realm)
	}
	server := *req.SName
	server.Realm = req.Realm
	if !enc.Server.Equal(server) && !c.config().Canonicalize {
		return nil, modified("AS-REP for server %v, requested %v", enc.Server, server)
	}
	// authtime is the KDC's clock now (RFC 4120 3.1.5).
	if d := cred.StartTime.Sub(c.now()).Abs(); d > c.config().clockSkew() {
		return nil, statusErr(secpkg.StatusTimeSkew, ErrKDCReplySkew, "krb5: KDC clock differs from ours by %v", d.Round(time.Second))
	}
	return cred, nil
}

// checkKDCRep applies the checks common to AS-REP and TGS-REP and builds
// the credential.
func (c *Client) checkKDCRep(m *kdcRep, enc *encKDCRepPart, req *kdcReqBody, client Principal) (*Credential, error) {
	if enc.Nonce != req.Nonce {
		return nil, modified("nonce %d, sent %d", enc.Nonce, req.Nonce)
	}
	// Orpheus' Lyre (CVE-2017-11103): the plaintext sname of the ticket
	// must be the encrypted one; only the latter is believed.
	if !m.Ticket.SName.Equal(enc.Server) {
		return nil, modified("ticket names %v, the encrypted reply %v", m.Ticket.SName, enc.Server)
	}
	if !c.config().Permits(enc.Key.EType()) {
		return nil, modified("session key of type %v, which is not permitted", enc.Key.EType())
	}
	if !req.Till.IsZero() && enc.EndTime.After(req.Till) {
		return nil, modified("ticket ends %v, after the requested %v", enc.EndTime, req.Till)
	}
	if req.Options&kdcOptRenewable != 0 && !req.RTime.IsZero() && enc.RenewTill.After(req.RTime) {
		return nil, modified("ticket renewable until %v, after the requested %v", enc.RenewTill, req.RTime)
	}
	start := enc.StartTime
	if start.IsZero() {
		start = enc.AuthTime
	}
	if !enc.EndTime.After(start) {
		return nil, modified("ticket ends before it starts")
	}
	cl := m.Client
	if cl.Type == NameUnknown {
		cl.Type = client.Type
	}
	return &Credential{
		Client:     cl,
		Server:     enc.Server,
		Ticket:     m.Ticket.Raw,
		SessionKey: enc.Key,
		Flags:      enc.Flags,
		AuthTime:   enc.AuthTime,
		StartTime:  start,
		EndTime:    enc.EndTime,
		RenewTill:  enc.RenewTill,
	}, nil
}

// TGSOptions refine a TGS exchange.
type TGSOptions struct {
	// Forwardable asks for a forwardable ticket even if the
	// configuration does not.
	Forwardable bool
	// ETypes are the session key types to ask for (default:
	// Config.DefaultTGSETypes).
	ETypes []EType
}

// GetServiceTicket obtains a ticket for service with a TGT
// (krb5_get_credentials): a TGS exchange with the TGT's KDC, asking it
// to canonicalize, then, if the service lives in another realm, through
// the cross-realm TGTs the KDCs hand out (referrals, RFC 6806 8), at
// most MaxReferrals of them, never visiting a realm twice.
func (c *Client) GetServiceTicket(ctx context.Context, tgt *Credential, service Principal, opts *TGSOptions) (*Credential, error) {
	if opts == nil {
		opts = &TGSOptions{}
	}
	if tgt == nil || !tgt.Server.IsTGS() {
		return nil, statusErr(secpkg.StatusNoCredentials, nil, "krb5: a TGT is needed to get a service ticket")
	}
	if service.Realm == "" || len(service.Components) == 0 {
		return nil, statusErr(secpkg.StatusTargetUnknown, nil, "krb5: service %q has no realm", service.String())
	}
	maxHops := c.MaxReferrals
	if maxHops <= 0 {
		maxHops = 5
	}
	options := c.kdcOptions() | kdcOptCanonicalize
	if opts.Forwardable {
		options |= kdcOptForwardable
	}
	cur, target := tgt, service.Clone()
	visited := map[string]bool{}
	for hop := 0; hop <= maxHops; hop++ {
		kdcRealm := cur.Server.Components[1]
		if visited[kdcRealm] {
			return nil, statusErr(secpkg.StatusTargetUnknown, nil, "krb5: referral loop through realm %s", kdcRealm)
		}
		visited[kdcRealm] = true
		req := target
		if target.Realm != kdcRealm {
			// The service's realm is known and not this KDC's: ask for the
			// cross-realm TGT first (RFC 4120 1.2).
			req = TGSPrincipal(target.Realm, kdcRealm)
		}
		req.Realm = kdcRealm
		cred, err := c.tgsExchange(ctx, cur, req, options, opts.ETypes)
		if err != nil {
			return nil, err
		}
		crossRealm := !req.Equal(target) // we asked for krbtgt/TARGET@HERE
		switch {
		case cred.Server.Equal(req) && crossRealm:
			cur = cred
		case cred.Server.Equal(req):
			return cred, nil
		case cred.Server.IsTGS() && cred.Server.Components[1] != kdcRealm:
			// A referral: a TGT for a realm closer to the service.
			c.logf(ctx, "krb5: KDC referral", "from", kdcRealm, "to", cred.Server.Components[1])
			cur = cred
			if !crossRealm {
				target.Realm = cred.Server.Components[1]
			}
		case !crossRealm && !cred.Server.IsTGS():
			// The canonical name of an alias (we asked to canonicalize).
			return cred, nil
		default:
			return nil, modified("asked for %v, got a ticket for %v", req, cred.Server)
		}
	}
	return nil, statusErr(secpkg.StatusTargetUnknown, nil, "krb5: more than %d referrals for %v", maxHops, service)
}

// GetForwardedTGT obtains a forwarded copy of a forwardable TGT (RFC
// 4120 2.6), to be delegated in a KRB-CRED.
func (c *Client) GetForwardedTGT(ctx context.Context, tgt *Credential) (*Credential, error) {
	if tgt == nil || !tgt.Server.IsTGS() {
		return nil, statusErr(secpkg.StatusNoCredentials, nil, "krb5: a TGT is needed to forward one")
	}
	if !tgt.Flags.Has(FlagForwardable) {
		return nil, statusErr(secpkg.StatusDelegationPolicy, nil, "krb5: the TGT is not forwardable")
	}
	cred, err := c.tgsExchange(ctx, tgt, tgt.Server, kdcOptForwarded|kdcOptForwardable, nil)
	if err != nil {
		return nil, err
	}
	if !cred.Server.Equal(tgt.Server) || !cred.Flags.Has(FlagForwarded) {
		return nil, modified("forwarded TGT for %v, flags %v", cred.Server, cred.Flags)
	}
	return cred, nil
}

// tgsExchange sends one TGS-REQ for server (whose realm is the KDC's)
// with the TGT and checks the reply (RFC 4120 3.3.4; MIT's
// krb5int_process_tgs_reply and check_reply_server).
func (c *Client) tgsExchange(ctx context.Context, tgt *Credential, server Principal, options uint32, etypes []EType) (*Credential, error) {
	cfg := c.config()
	if etypes == nil {
		etypes = cfg.DefaultTGSETypes
	}
	etypes = cfg.requested(etypes)
	if len(etypes) == 0 {
		return nil, statusErr(secpkg.StatusAlgorithmMismatch, nil, "krb5: no permitted encryption type")
	}
	nonce, err := c.nonce()
	if err != nil {
		return nil, statusErr(secpkg.StatusInternalError, err, "krb5: nonce: %v", err)
	}
	if server.Type == NameUnknown {
		server.Type = NamePrincipal
	}
	body := kdcReqBody{
		Options: options,
		Realm:   server.Realm,
		SName:   &server,
		Till:    tgt.EndTime,
		Nonce:   nonce,
		ETypes:  etypes,
	}
	bodyBytes := body.marshal()
	now := c.now()
	ckType, ck, err := tgt.SessionKey.checksum(usageTGSReqAuthCksum, bodyBytes)
	if err != nil {
		return nil, statusErr(secpkg.StatusInternalError, err, "%v", err)
	}
	auth := authenticator{
		Client: tgt.Client,
		Cksum:  &checksum{Type: ckType, Sum: ck},
		Cusec:  int32(now.Nanosecond() / 1000),
		CTime:  now.UTC().Truncate(time.Second),
	}
	encAuth, err := seal(tgt.SessionKey, usageTGSReqAuth, auth.marshal(), 0, false)
	if err != nil {
		return nil, statusErr(secpkg.StatusInternalError, err, "%v", err)
	}
	ap := apReq{Ticket: ticket{Raw: tgt.Ticket}, Authenticator: encAuth}
	padata := []typedData{{Type: paTGSReq, Data: ap.marshal()}}

	kdcRealm := tgt.Server.Components[1]
	rep, err := c.exchange(ctx, kdcRealm, marshalKDCReq(msgTGSReq, padata, bodyBytes))
	if err != nil {
		return nil, err
	}
	if messageType(rep) == tagKRBError {
		ke, err := ParseKRBError(rep)
		if err != nil {
			return nil, err
		}
		if ke.Code == KDCErrSPrincipalUnknown {
			return nil, statusErr(secpkg.StatusTargetUnknown, ke, "krb5: the KDC does not know %v", server)
		}
		return nil, statusErr(ke.Code.Status(), ke, "krb5: the KDC refused the TGS request for %v: %v", server, ke.Code)
	}
	return c.processTGSRep(rep, &body, tgt, server)
}

func (c *Client) processTGSRep(rep []byte, req *kdcReqBody, tgt *Credential, server Principal) (*Credential, error) {
	var m kdcRep
	if err := m.unmarshal(rep, msgTGSRep); err != nil {
		return nil, statusErr(secpkg.StatusLogonDenied, ErrKDCReplyModified, "%v", err)
	}
	pt, err := m.EncPart.open(tgt.SessionKey, usageTGSRepSessionKey)
	if err != nil {
		return nil, statusErr(secpkg.StatusLogonDenied, errors.Join(ErrKDCReplyModified, err), "krb5: TGS-REP does not decrypt with the TGT session key")
	}
	var enc encKDCRepPart
	if err := enc.unmarshal(pt); err != nil {
		return nil, statusErr(secpkg.StatusLogonDenied, ErrKDCReplyModified, "%v", err)
	}
	cred, err := c.checkKDCRep(&m, &enc, req, tgt.Client)
	if err != nil {
		return nil, err
	}
	if !m.Client.Equal(tgt.Client) {
		return nil, modified("TGS-REP for client %v, the TGT's is %v", m.Client, tgt.Client)
	}
	cred.Client = tgt.Client
	if enc.Server.Realm != server.Realm {
		return nil, modified("TGS-REP for a server of realm %q from the KDC of %q", enc.Server.Realm, server.Realm)
	}
	if req.Options&kdcOptCanonicalize == 0 && !enc.Server.Equal(server) {
		return nil, modified("TGS-REP for server %v, requested %v", enc.Server, server)
	}
	if !enc.StartTime.IsZero() {
		if d := enc.StartTime.Sub(c.now()).Abs(); d > c.config().clockSkew() {
			return nil, statusErr(secpkg.StatusTimeSkew, ErrKDCReplySkew, "krb5: KDC clock differs from ours by %v", d.Round(time.Second))
		}
	}
	return cred, nil
}
