package httpauth

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/opensspi/sspi"
)

// ServerConfig configures a [Handler]. The zero value offers Negotiate
// (with the Negotiate package) to origin clients, persists a connection's
// authentication for its later requests as IIS does, and checks the
// channel bindings of clients that send them over TLS when Certificate is
// set.
type ServerConfig struct {
	// Provider reaches the LSA; nil means sspi.Default().
	Provider *sspi.Provider
	// Package is the security package: "Negotiate" (the zero value:
	// the Negotiate scheme, SPNEGO choosing Kerberos or NTLM, with raw
	// NTLM or Kerberos tokens accepted too, as Windows accepts them),
	// "Kerberos" (the Negotiate scheme with Kerberos only) or "NTLM"
	// (the NTLM scheme only).
	Package string
	// NTLM also offers the NTLM scheme (a second WWW-Authenticate
	// header), served by the NTLM package, for clients that do not
	// speak Negotiate (IIS's "NTLM" provider).
	NTLM bool
	// Principal is the service principal name the server accepts as,
	// such as "HTTP/www.example.com" (pszPrincipal of
	// AcquireCredentialsHandle). With a principal, NTLM requires the
	// client's MsvAvTargetName to name it, which clients that send none
	// (curl's own NTLM) fail.
	Principal string
	// Proxy makes the handler an authenticating proxy's: it answers 407
	// with Proxy-Authenticate and reads Proxy-Authorization (RFC 9110
	// 11.7), and removes Proxy-Authorization before the next handler
	// sees the request.
	Proxy bool
	// PerRequest requires a handshake on every request (IIS's
	// authPersistSingleRequest). The default lets a connection that
	// authenticated stay authenticated for its later requests without an
	// Authorization header, as IIS and browsers expect. Set it when a
	// proxy that pools connections of several users may stand between
	// clients and this server.
	PerRequest bool
	// ExtendedProtection says what to do with channel bindings over TLS
	// (IIS's extendedProtection tokenChecking).
	ExtendedProtection ExtendedProtection
	// Certificate returns the certificate the server presented on a TLS
	// connection, from which the tls-server-end-point channel bindings
	// are made (RFC 5929 4; TLS does not tell a server which of its
	// certificates it sent). Nil means no bindings; ExtendedProtection
	// Require then cannot be met and NewHandler refuses it.
	Certificate func(cs *tls.ConnectionState) *x509.Certificate
	// Authorize, if not nil, decides whether an authenticated request
	// may proceed; an error answers 403 Forbidden. It runs on every
	// request, those that ride on a connection's earlier handshake
	// included. Authentication gives an identity; authorization is this
	// callback's decision, never implied.
	Authorize func(r *http.Request, a *Authentication) error
	// MaxTokenSize bounds the token of one Authorization header, checked
	// before it is decoded; zero means DefaultMaxTokenSize.
	MaxTokenSize int
	// MaxLegs bounds the legs of one handshake; zero means 8.
	MaxLegs int
	// Flags add to the context requirements (ASC_REQ_*) of each
	// handshake.
	Flags sspi.ASCFlags
	// Logger receives why requests were refused (never a token or a
	// secret); nil discards.
	Logger *slog.Logger
}

// ExtendedProtection is the channel binding policy of a server over TLS
// (IIS's extendedProtection tokenChecking; Windows' Extended Protection
// for Authentication).
type ExtendedProtection int

// Extended protection policies.
const (
	// ExtendedProtectionAllow checks the channel bindings a client sends
	// and accepts clients that send none (tokenChecking="Allow").
	ExtendedProtectionAllow ExtendedProtection = iota
	// ExtendedProtectionRequire refuses clients whose bindings are
	// missing or differ (tokenChecking="Require").
	ExtendedProtectionRequire
	// ExtendedProtectionOff passes no bindings to the LSA
	// (tokenChecking="None").
	ExtendedProtectionOff
)

// String names the policy.
func (e ExtendedProtection) String() string {
	switch e {
	case ExtendedProtectionAllow:
		return "allow"
	case ExtendedProtectionRequire:
		return "require"
	case ExtendedProtectionOff:
		return "off"
	}
	return fmt.Sprintf("ExtendedProtection(%d)", int(e))
}

const defaultMaxLegs = 8

// Authentication is how a request was authenticated.
type Authentication struct {
	// Identity is who the client proved to be
	// (ServerContext.Identity). The requests of one connection share
	// it: treat it as read-only.
	Identity *sspi.Identity
	// Scheme is the HTTP scheme the client used: SchemeNegotiate or
	// SchemeNTLM.
	Scheme string
	// Mutual reports whether the handshake ended with a token for the
	// client, which lets it verify the server: a Kerberos AP-REP, or the
	// acceptor's SPNEGO mechListMIC when Negotiate ran NTLM.
	Mutual bool
	// Persisted reports whether this request carried no credentials and
	// rode on an earlier handshake of the same connection.
	Persisted bool
}

type authKey struct{}

// AuthenticationFrom returns how the request whose context is ctx was
// authenticated, or nil.
func AuthenticationFrom(ctx context.Context) *Authentication {
	a, _ := ctx.Value(authKey{}).(*Authentication)
	return a
}

// IdentityFrom returns the authenticated client of the request whose
// context is ctx, or nil.
func IdentityFrom(ctx context.Context) *sspi.Identity {
	if a := AuthenticationFrom(ctx); a != nil {
		return a.Identity
	}
	return nil
}

// Handler authenticates HTTP requests with Negotiate and NTLM (RFC 4559):
// the server side of integrated Windows authentication. Create one with
// [NewHandler], install it on the http.Server with [Handler.Install],
// and wrap the application with [Handler.Wrap].
type Handler struct {
	cfg   ServerConfig
	log   *slog.Logger
	creds map[string]*sspi.Credentials // by scheme
	offer []string                     // schemes offered, in order

	mu     sync.Mutex
	conns  map[net.Conn]*connState
	closed bool
	nextID atomic.Uint64
}

// NewHandler acquires inbound credentials for the configured packages
// (AcquireCredentialsHandle with SECPKG_CRED_INBOUND) and returns a
// Handler. Close frees them.
func NewHandler(ctx context.Context, cfg *ServerConfig) (*Handler, error) {
	h := &Handler{creds: make(map[string]*sspi.Credentials), conns: make(map[net.Conn]*connState)}
	if cfg != nil {
		h.cfg = *cfg
	}
	c := &h.cfg
	if c.Package == "" {
		c.Package = "Negotiate"
	}
	if c.MaxTokenSize <= 0 {
		c.MaxTokenSize = DefaultMaxTokenSize
	}
	if c.MaxLegs <= 0 {
		c.MaxLegs = defaultMaxLegs
	}
	switch c.ExtendedProtection {
	case ExtendedProtectionAllow, ExtendedProtectionOff:
	case ExtendedProtectionRequire:
		if c.Certificate == nil {
			return nil, errors.New("httpauth: extended protection Require needs ServerConfig.Certificate")
		}
	default:
		return nil, fmt.Errorf("httpauth: unknown %v", c.ExtendedProtection)
	}
	h.log = c.Logger
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	p := c.Provider
	if p == nil {
		var err error
		if p, err = sspi.Default(); err != nil {
			return nil, err
		}
	}
	acquire := func(scheme, pkg string) error {
		cred, err := p.AcquireCredentials(ctx, pkg, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: c.Principal})
		if err != nil {
			return fmt.Errorf("httpauth: %s credentials for the %s scheme: %w", pkg, scheme, err)
		}
		h.creds[scheme] = cred
		h.offer = append(h.offer, scheme)
		return nil
	}
	if strings.EqualFold(c.Package, "NTLM") {
		if err := acquire(SchemeNTLM, "NTLM"); err != nil {
			return nil, err
		}
		return h, nil
	}
	if err := acquire(SchemeNegotiate, c.Package); err != nil {
		return nil, err
	}
	if c.NTLM {
		if err := acquire(SchemeNTLM, "NTLM"); err != nil {
			h.creds[SchemeNegotiate].Free()
			return nil, err
		}
	}
	return h, nil
}

// Close frees the handler's credentials and every handshake in progress.
// Requests that arrive later are refused with 503.
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closed = true
	conns := h.conns
	h.conns = make(map[net.Conn]*connState)
	h.mu.Unlock()
	for _, cs := range conns {
		cs.close()
	}
	var err error
	for _, c := range h.creds {
		err = errors.Join(err, c.Free())
	}
	return err
}

// Install hooks the handler into srv: ConnContext gives each connection
// its own authentication state and ConnState drops it when the
// connection closes (or is hijacked). Hooks srv already has still run.
// It also turns HTTP/2 off when srv has not configured it, since
// connection-oriented authentication is defined for HTTP/1.1 only (as
// Windows answers HTTP_1_1_REQUIRED). Call it before the server starts.
func (h *Handler) Install(srv *http.Server) {
	prevCtx, prevState := srv.ConnContext, srv.ConnState
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prevCtx != nil {
			ctx = prevCtx(ctx, c)
		}
		return h.ConnContext(ctx, c)
	}
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		h.ConnState(c, s)
		if prevState != nil {
			prevState(c, s)
		}
	}
	if srv.TLSNextProto == nil {
		srv.TLSNextProto = make(map[string]func(*http.Server, *tls.Conn, http.Handler))
	}
}

// ConnContext is the http.Server.ConnContext hook: it gives the
// connection c a record of its own for handshakes and their result.
// [Handler.Install] sets it.
func (h *Handler) ConnContext(ctx context.Context, c net.Conn) context.Context {
	cs := &connState{id: h.nextID.Add(1), remote: c.RemoteAddr().String()}
	h.mu.Lock()
	if h.closed {
		cs.closed = true
	} else {
		h.conns[c] = cs
	}
	h.mu.Unlock()
	return context.WithValue(ctx, connStateKey{h}, cs)
}

// ConnState is the http.Server.ConnState hook: it drops the state of a
// connection that closed or was hijacked. [Handler.Install] sets it.
func (h *Handler) ConnState(c net.Conn, s http.ConnState) {
	if s != http.StateClosed && s != http.StateHijacked {
		return
	}
	h.mu.Lock()
	cs := h.conns[c]
	delete(h.conns, c)
	h.mu.Unlock()
	if cs != nil {
		cs.close()
	}
}

// connStateKey finds a connection's state in a request's context; it names the
// handler so that two handlers on one server keep apart.
type connStateKey struct{ h *Handler }

// connState is what one TCP connection has proved: a handshake in
// progress, or the authentication of its last complete handshake.
// Requests on one HTTP/1.1 connection are serial; mu guards against the
// close hook.
type connState struct {
	id     uint64
	remote string

	mu       sync.Mutex
	hs       *serverHandshake
	auth     *Authentication
	bindings *sspi.ChannelBindings
	bound    bool // bindings were computed
	closed   bool
}

// serverHandshake is one handshake in progress on a connection.
type serverHandshake struct {
	scheme string
	ctx    *sspi.ServerContext
	legs   int
}

// reset drops the handshake in progress and the authentication. cs.mu is
// held.
func (cs *connState) reset() {
	if cs.hs != nil {
		cs.hs.ctx.Delete()
		cs.hs = nil
	}
	cs.auth = nil
}

func (cs *connState) close() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.reset()
	cs.closed = true
}

// Wrap returns next behind authentication: the middleware.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, next)
	})
}

// header names of the role: origin server or proxy (RFC 9110 11.6, 11.7).
func (h *Handler) names() (challengeHdr, credentialsHdr string, status int) {
	if h.cfg.Proxy {
		return "Proxy-Authenticate", "Proxy-Authorization", http.StatusProxyAuthRequired
	}
	return "WWW-Authenticate", "Authorization", http.StatusUnauthorized
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	cs, _ := r.Context().Value(connStateKey{h}).(*connState)
	if cs == nil {
		h.log.Error("httpauth: no connection state: install the Handler on the http.Server (Handler.Install)", "remote", r.RemoteAddr)
		http.Error(w, "authentication is not configured", http.StatusInternalServerError)
		return
	}
	if r.ProtoMajor != 1 {
		h.refuse(w, cs, http.StatusHTTPVersionNotSupported, "connection-oriented authentication needs HTTP/1.1", slog.LevelWarn)
		return
	}
	_, credHdr, _ := h.names()
	a, hdrSeen, ok := h.authenticate(w, r, cs, credHdr)
	if !ok {
		return
	}
	if h.cfg.Authorize != nil {
		if err := h.cfg.Authorize(r, a); err != nil {
			h.log.Info("httpauth: not authorized", "conn", cs.id, "remote", cs.remote, "user", a.Identity.String(), "reason", err.Error())
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
	}
	r2 := r.WithContext(context.WithValue(r.Context(), authKey{}, a))
	if hdrSeen {
		// The token is spent; what comes after never sees it.
		r2.Header = r.Header.Clone()
		r2.Header.Del(credHdr)
	}
	next.ServeHTTP(w, r2)
}

// authenticate runs one leg for the request, or finds the connection's
// earlier authentication. It returns ok false once it has answered the
// request itself.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, cs *connState, credHdr string) (a *Authentication, hdrSeen, ok bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		h.refuse(w, cs, http.StatusServiceUnavailable, "handler closed", slog.LevelDebug)
		return nil, false, false
	}
	values := r.Header.Values(credHdr)
	switch {
	case len(values) == 0 && cs.auth != nil && !h.cfg.PerRequest:
		a := *cs.auth
		a.Persisted = true
		return &a, false, true
	case len(values) == 0:
		// A request without credentials in the middle of a handshake
		// abandons it (a client starting over).
		cs.reset()
		h.challenge(w, cs, "", nil, "no credentials", slog.LevelDebug)
		return nil, false, false
	case len(values) > 1:
		cs.reset()
		h.refuse(w, cs, http.StatusBadRequest, "more than one "+credHdr+" header", slog.LevelWarn)
		return nil, true, false
	}
	scheme, token, err := parseCredentials(values[0], h.cfg.MaxTokenSize)
	// New credentials: whatever the connection proved before no longer
	// speaks for this request, whatever becomes of them.
	cs.auth = nil
	canon := h.offered(scheme)
	switch {
	case scheme == "" || (err != nil && canon != ""):
		cs.reset()
		h.refuse(w, cs, http.StatusBadRequest, err.Error(), slog.LevelWarn)
		return nil, true, false
	case canon == "":
		cs.reset()
		h.challenge(w, cs, "", nil, fmt.Sprintf("scheme %.32q is not offered", scheme), slog.LevelInfo)
		return nil, true, false
	}
	scheme = canon
	if cs.hs != nil && cs.hs.scheme != scheme {
		reason := fmt.Sprintf("%s credentials in the middle of a %s handshake", scheme, cs.hs.scheme)
		cs.reset()
		h.refuse(w, cs, http.StatusBadRequest, reason, slog.LevelWarn)
		return nil, true, false
	}
	if cs.hs != nil && isInitialToken(token) {
		// The client started over on the same connection.
		h.log.Debug("httpauth: handshake restarted", "conn", cs.id, "remote", cs.remote)
		cs.reset()
	}
	if cs.hs == nil {
		cfg, err := h.serverConfig(r, cs)
		if err != nil {
			h.refuse(w, cs, http.StatusInternalServerError, err.Error(), slog.LevelError)
			return nil, true, false
		}
		cs.hs = &serverHandshake{scheme: scheme, ctx: sspi.NewServerContext(h.creds[scheme], cfg)}
	}
	hs := cs.hs
	hs.legs++
	if hs.legs > h.cfg.MaxLegs {
		cs.reset()
		h.challenge(w, cs, "", nil, fmt.Sprintf("more than %d legs", h.cfg.MaxLegs), slog.LevelWarn)
		return nil, true, false
	}
	out, st, err := hs.ctx.Accept(r.Context(), token)
	if err == nil && (st == sspi.StatusCompleteNeeded || st == sspi.StatusCompleteAndContinue) {
		out, err = hs.ctx.CompleteAuthToken(out)
		if st == sspi.StatusCompleteNeeded {
			st = sspi.StatusOK
		} else {
			st = sspi.StatusContinueNeeded
		}
	}
	switch {
	case err != nil:
		cs.reset()
		h.challenge(w, cs, "", nil, fmt.Sprintf("%s: %v", scheme, err), slog.LevelInfo)
		return nil, true, false
	case st == sspi.StatusContinueNeeded:
		h.challenge(w, cs, scheme, out, "", 0)
		return nil, true, false
	case st != sspi.StatusOK:
		cs.reset()
		h.challenge(w, cs, "", nil, fmt.Sprintf("%s: unexpected status %v", scheme, st), slog.LevelError)
		return nil, true, false
	}
	id, err := hs.ctx.Identity()
	flags := hs.ctx.Flags()
	// The context has given what HTTP needs from it.
	hs.ctx.Delete()
	cs.hs = nil
	if err != nil {
		h.challenge(w, cs, "", nil, fmt.Sprintf("%s: %v", scheme, err), slog.LevelError)
		return nil, true, false
	}
	if id.Anonymous || id.User == "" {
		h.challenge(w, cs, "", nil, scheme+": anonymous logon", slog.LevelInfo)
		return nil, true, false
	}
	a = &Authentication{Identity: id, Scheme: scheme, Mutual: len(out) > 0 || flags&sspi.ASCRetMutualAuth != 0}
	if !h.cfg.PerRequest {
		cs.auth = a
	}
	if len(out) > 0 {
		chHdr, _, _ := h.names()
		w.Header().Set(chHdr, encodeToken(scheme, out))
	}
	h.log.Debug("httpauth: authenticated", "conn", cs.id, "remote", cs.remote, "user", id.String(), "scheme", scheme, "package", id.Package)
	cp := *a
	return &cp, true, true
}

// offered returns the canonical name of scheme if the handler offers it.
func (h *Handler) offered(scheme string) string {
	for _, s := range h.offer {
		if strings.EqualFold(s, scheme) {
			return s
		}
	}
	return ""
}

// serverConfig is the ServerConfig of a new context on cs: the flags, and
// the channel bindings of a TLS connection.
func (h *Handler) serverConfig(r *http.Request, cs *connState) (*sspi.ServerConfig, error) {
	cfg := &sspi.ServerConfig{Flags: h.cfg.Flags}
	if r.TLS == nil || h.cfg.ExtendedProtection == ExtendedProtectionOff {
		return cfg, nil
	}
	if !cs.bound {
		cs.bound = true
		var cert *x509.Certificate
		if h.cfg.Certificate != nil {
			cert = h.cfg.Certificate(r.TLS)
		}
		if cert != nil {
			b, err := sspi.TLSServerEndPointBindings(cert)
			if err != nil {
				return nil, err
			}
			cs.bindings = b
		}
	}
	if cs.bindings == nil {
		if h.cfg.ExtendedProtection == ExtendedProtectionRequire {
			return nil, errors.New("httpauth: no server certificate for channel bindings")
		}
		return cfg, nil
	}
	cfg.Bindings = cs.bindings
	if h.cfg.ExtendedProtection == ExtendedProtectionAllow {
		cfg.Flags |= sspi.ASCReqAllowMissingBindings
	}
	return cfg, nil
}

// challenge answers 401 (407 for a proxy). With a scheme, it continues
// that handshake with token; without, it offers every scheme afresh and
// logs reason.
func (h *Handler) challenge(w http.ResponseWriter, cs *connState, scheme string, token []byte, reason string, level slog.Level) {
	chHdr, _, status := h.names()
	if scheme != "" {
		w.Header().Set(chHdr, encodeToken(scheme, token))
	} else {
		for _, s := range h.offer {
			w.Header().Add(chHdr, s)
		}
		h.log.Log(context.Background(), level, "httpauth: challenged", "conn", cs.id, "remote", cs.remote, "status", status, "reason", reason)
	}
	http.Error(w, http.StatusText(status), status)
}

// refuse answers status and logs reason.
func (h *Handler) refuse(w http.ResponseWriter, cs *connState, status int, reason string, level slog.Level) {
	h.log.Log(context.Background(), level, "httpauth: refused", "conn", cs.id, "remote", cs.remote, "status", status, "reason", reason)
	http.Error(w, http.StatusText(status), status)
}

// ntlmSignature starts every NTLM message (MS-NLMP 2.2.1).
var ntlmSignature = []byte("NTLMSSP\x00")

// isInitialToken reports whether token can only start a handshake: an
// NTLM NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) or a GSS-API initial context
// token, SPNEGO's NegTokenInit or a raw Kerberos AP-REQ (RFC 2743 3.1:
// [APPLICATION 0]).
func isInitialToken(token []byte) bool {
	if bytes.HasPrefix(token, ntlmSignature) {
		return len(token) >= 12 && token[8] == 1 && token[9] == 0 && token[10] == 0 && token[11] == 0
	}
	return len(token) > 0 && token[0] == 0x60
}
