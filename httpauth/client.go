package httpauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/opensspi/sspi"
)

// ClientConfig configures a [Transport]. The zero value sends
// credentials nowhere: name the hosts that may receive them in
// AllowedHosts.
type ClientConfig struct {
	// Provider reaches the LSA; nil means sspi.Default().
	Provider *sspi.Provider
	// Identity is the user's explicit credentials; nil means the
	// caller's default credentials (its logon session in the LSA, or a
	// Kerberos ticket cache). The LSA keeps them: NewTransport acquires
	// credentials handles and keeps no reference to Identity.
	Identity *sspi.AuthIdentity
	// Packages are the security packages to authenticate with, most
	// preferred first; nil means Negotiate, then NTLM, each if it has
	// credentials (a caller whose only credentials are Kerberos tickets
	// gets no NTLM scheme). NTLM answers the NTLM scheme; every other
	// package (Negotiate, Kerberos) the Negotiate scheme. A package named
	// here that has no credentials is an error.
	Packages []string
	// AllowedHosts are the hosts the transport may authenticate to (the
	// role of Firefox's network.negotiate-auth.trusted-uris and Chrome's
	// AuthServerAllowlist): "www.example.com" names one host, "*.example.com"
	// every host under example.com, "*" every host (which hands a
	// challenge from any server a token for the user). A pattern may
	// start with "https://" or "http://" to allow that URL scheme only.
	// A challenge from any other host is returned to the caller
	// unanswered. Proxies the Proxy function chooses are trusted, as
	// browsers trust their configured proxy.
	AllowedHosts []string
	// Proxy chooses the proxy for a request, as http.Transport.Proxy
	// does; nil means http.ProxyFromEnvironment.
	Proxy func(*http.Request) (*url.URL, error)
	// DialContext dials TCP connections; nil means a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSClientConfig configures TLS to origins and HTTPS proxies; nil
	// means the defaults.
	TLSClientConfig *tls.Config
	// Target returns the service principal name to ask a ticket for,
	// given the host name of the origin or proxy; nil means
	// "HTTP/" + host, as browsers do without DNS canonicalization.
	Target func(host string) string
	// RequireMutualAuth fails any authenticated response without the
	// server's final token, or whose final token does not complete the
	// handshake; it never answers the NTLM scheme, which has none. A
	// final token that is present is always verified, and a wrong one
	// always fails the request.
	RequireMutualAuth bool
	// Flags add to the context requirements (ISC_REQ_*).
	Flags sspi.ISCFlags
	// MaxIdleConnsPerHost bounds the idle connections kept per origin
	// (and proxy); zero means 2.
	MaxIdleConnsPerHost int
	// MaxResponseHeaderBytes bounds a response's header; zero means
	// 1 MiB.
	MaxResponseHeaderBytes int64
	// OnLeg, if not nil, is called after each call to Initialize: for
	// tracing (the CLI's -v). It must not block.
	OnLeg func(Leg)
}

// Leg is one client handshake leg (one InitializeSecurityContext call),
// for tracing.
type Leg struct {
	Proxy   bool   // the leg authenticates to the proxy (407), not the origin (401)
	Host    string // the origin or proxy host
	Scheme  string // SchemeNegotiate or SchemeNTLM
	Package string // the security package
	// HTTPStatus is the status of the response that carried the
	// server's token (In); zero on the first leg.
	HTTPStatus int
	In, Out    int         // bytes of the server's token and of ours
	Status     sspi.Status // SEC_E_OK, SEC_I_CONTINUE_NEEDED, or the failure
	Err        error
}

// Client errors callers may test for with errors.Is.
var (
	// ErrBodyNotRewindable: the server asked for authentication after the
	// request body was sent, and the request has no GetBody to send it
	// again.
	ErrBodyNotRewindable = errors.New("httpauth: the request body cannot be sent again (Request.GetBody is nil)")
	// ErrMutualAuth: the server's final token was missing (with
	// RequireMutualAuth) or did not verify.
	ErrMutualAuth = errors.New("httpauth: the server did not prove its identity")
)

const (
	defaultMaxIdlePerHost    = 2
	defaultMaxResponseHeader = 1 << 20
	// maxClientLegs bounds the legs of one handshake.
	maxClientLegs = 8
	// maxDrain bounds the body of a 401 or 407 read to keep the
	// connection for the next leg.
	maxDrain = 256 << 10
)

// Transport is an http.RoundTripper that answers Negotiate and NTLM
// challenges (401 from origins, 407 from proxies, CONNECT included) from
// hosts on its allow-list: the client side of RFC 4559, as WinHTTP's
// automatic logon. It speaks HTTP/1.1 over connections of its own and
// authenticates each connection, since NTLM (and Negotiate running NTLM)
// binds a handshake to its connection; a connection that authenticated
// is reused for later requests to the same origin through the same
// proxy. A Transport belongs to one user.
type Transport struct {
	cfg      ClientConfig
	creds    map[string]*sspi.Credentials // by package, lower case
	packages []string                     // canonical names, in order
	allow    []hostPattern

	mu     sync.Mutex
	idle   map[connKey][]*clientConn
	closed bool
}

// NewTransport acquires outbound credentials for each configured package
// (AcquireCredentialsHandle with SECPKG_CRED_OUTBOUND) and returns a
// Transport. Close frees them.
func NewTransport(ctx context.Context, cfg *ClientConfig) (*Transport, error) {
	t := &Transport{creds: make(map[string]*sspi.Credentials), idle: make(map[connKey][]*clientConn)}
	if cfg != nil {
		t.cfg = *cfg
	}
	c := &t.cfg
	c.Identity = nil // the LSA holds it from here on
	for _, s := range c.AllowedHosts {
		hp, err := parseHostPattern(s)
		if err != nil {
			return nil, err
		}
		t.allow = append(t.allow, hp)
	}
	if c.MaxIdleConnsPerHost <= 0 {
		c.MaxIdleConnsPerHost = defaultMaxIdlePerHost
	}
	if c.MaxResponseHeaderBytes <= 0 {
		c.MaxResponseHeaderBytes = defaultMaxResponseHeader
	}
	if c.Proxy == nil {
		c.Proxy = http.ProxyFromEnvironment
	}
	if c.DialContext == nil {
		c.DialContext = (&net.Dialer{}).DialContext
	}
	if c.Target == nil {
		c.Target = func(host string) string { return "HTTP/" + strings.ToLower(host) }
	}
	pkgs := c.Packages
	if pkgs == nil {
		pkgs = []string{"Negotiate", "NTLM"}
	}
	if len(pkgs) == 0 {
		return nil, errors.New("httpauth: no security packages")
	}
	p := c.Provider
	if p == nil {
		var err error
		if p, err = sspi.Default(); err != nil {
			return nil, err
		}
	}
	var opts *sspi.CredentialsOptions
	if cfg != nil && cfg.Identity != nil {
		opts = &sspi.CredentialsOptions{Identity: cfg.Identity}
	}
	var firstErr error // of a default package without credentials
	for _, name := range pkgs {
		if _, dup := t.creds[strings.ToLower(name)]; dup {
			continue
		}
		cred, err := p.AcquireCredentials(ctx, name, sspi.CredentialOutbound, opts)
		if err != nil && c.Packages == nil && errors.Is(err, sspi.ErrNoCredentials) {
			if firstErr == nil {
				firstErr = fmt.Errorf("httpauth: %s credentials: %w", name, err)
			}
			continue
		}
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("httpauth: %s credentials: %w", name, err)
		}
		t.creds[strings.ToLower(name)] = cred
		t.packages = append(t.packages, cred.Package())
	}
	if len(t.creds) == 0 {
		return nil, firstErr
	}
	return t, nil
}

// Close closes idle connections and frees the credentials. Responses
// being read keep their connections until their bodies are closed.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	idle := t.idle
	t.idle = make(map[connKey][]*clientConn)
	t.mu.Unlock()
	for _, conns := range idle {
		for _, cc := range conns {
			cc.close()
		}
	}
	var err error
	for _, c := range t.creds {
		err = errors.Join(err, c.Free())
	}
	return err
}

// CloseIdleConnections closes the connections kept for reuse, as
// http.Transport's method of that name does (http.Client calls it).
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = make(map[connKey][]*clientConn)
	t.mu.Unlock()
	for _, conns := range idle {
		for _, cc := range conns {
			cc.close()
		}
	}
}

// schemeOf returns the HTTP scheme a package answers.
func schemeOf(pkg string) string {
	if strings.EqualFold(pkg, "NTLM") {
		return SchemeNTLM
	}
	return SchemeNegotiate
}

// pick chooses the package and scheme to answer challenges with: the
// first configured package whose scheme the server offers. It returns the
// challenge's token, if any (a Negotiate acceptor's hints).
func (t *Transport) pick(chs []challenge) (pkg, scheme string, token []byte, ok bool) {
	for _, pkg := range t.packages {
		scheme := schemeOf(pkg)
		if scheme == SchemeNTLM && t.cfg.RequireMutualAuth {
			continue
		}
		for _, ch := range chs {
			if !strings.EqualFold(ch.scheme, scheme) || len(ch.params) > 0 {
				continue
			}
			var tok []byte
			if ch.token68 != "" && scheme == SchemeNegotiate {
				if _, hint, err := parseCredentials(scheme+" "+ch.token68, DefaultMaxTokenSize); err == nil {
					tok = hint
				}
			}
			return pkg, scheme, tok, true
		}
	}
	return "", "", nil, false
}

// challengeToken returns the token of the scheme's challenge in h's
// field name, or nil.
func challengeToken(h http.Header, field, scheme string) ([]byte, error) {
	chs, err := parseChallenges(h.Values(field))
	if err != nil {
		return nil, err
	}
	for _, ch := range chs {
		if strings.EqualFold(ch.scheme, scheme) && ch.token68 != "" {
			_, tok, err := parseCredentials(scheme+" "+ch.token68, DefaultMaxTokenSize)
			return tok, err
		}
	}
	return nil, nil
}

// hostPattern is one entry of ClientConfig.AllowedHosts.
type hostPattern struct {
	scheme string // "" (any), "http" or "https"
	any    bool   // "*"
	suffix string // ".example.com" for "*.example.com"
	host   string // exact host
}

func parseHostPattern(s string) (hostPattern, error) {
	var hp hostPattern
	orig := s
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		scheme = strings.ToLower(scheme)
		if scheme != "http" && scheme != "https" {
			return hp, fmt.Errorf("httpauth: allowed host %q: scheme must be http or https", orig)
		}
		hp.scheme, s = scheme, rest
	}
	s = strings.ToLower(strings.TrimSuffix(s, "/"))
	switch {
	case s == "*":
		hp.any = true
	case strings.HasPrefix(s, "*.") && len(s) > 2:
		hp.suffix = s[1:]
	case s != "" && !strings.ContainsAny(s, "*/:@ ") || strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		hp.host = strings.Trim(s, "[]")
	default:
		return hp, fmt.Errorf("httpauth: allowed host %q is not a host name, *.domain or *", orig)
	}
	if hp.suffix != "" && strings.ContainsAny(hp.suffix[1:], "*/:@ ") {
		return hp, fmt.Errorf("httpauth: allowed host %q is not a host name, *.domain or *", orig)
	}
	return hp, nil
}

// allowed reports whether the transport may send credentials to the
// origin of u.
func (t *Transport) allowed(u *url.URL) bool {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, hp := range t.allow {
		if hp.scheme != "" && hp.scheme != u.Scheme {
			continue
		}
		switch {
		case hp.any:
			return true
		case hp.suffix != "" && strings.HasSuffix(host, hp.suffix):
			return true
		case hp.host != "" && host == hp.host:
			return true
		}
	}
	return false
}

// RoundTrip sends req and answers the authentication challenges of its
// origin (when allowed) and proxy, on one connection.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.roundTrip(req)
	if err != nil && req.Body != nil {
		req.Body.Close()
	}
	return resp, err
}

func (t *Transport) roundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || req.Header == nil {
		return nil, errors.New("httpauth: request has no URL or header")
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("httpauth: unsupported URL scheme %q", req.URL.Scheme)
	}
	if req.URL.Host == "" {
		return nil, errors.New("httpauth: request URL has no host")
	}
	ctx := req.Context()
	proxy, err := t.cfg.Proxy(req)
	if err != nil {
		return nil, err
	}
	key := connKey{scheme: req.URL.Scheme, addr: canonicalAddr(req.URL)}
	if proxy != nil {
		if proxy.Scheme != "http" && proxy.Scheme != "https" {
			return nil, fmt.Errorf("httpauth: unsupported proxy scheme %q", proxy.Scheme)
		}
		key.proxyScheme, key.proxyAddr = proxy.Scheme, canonicalAddr(proxy)
	}
	rs := &reqState{req: req}
	for attempt := 0; ; attempt++ {
		cc, err := t.getConn(ctx, key)
		if err != nil {
			return nil, err
		}
		resp, err := t.roundTripOn(ctx, cc, rs)
		if err != nil {
			cc.close()
			var re retryableError
			if errors.As(err, &re) && cc.reused && attempt == 0 && replayable(req) {
				continue // a kept connection the server had closed
			}
			return nil, err
		}
		return resp, nil
	}
}

// roundTripOn sends req on cc and answers the challenges it meets.
func (t *Transport) roundTripOn(ctx context.Context, cc *clientConn, rs *reqState) (*http.Response, error) {
	req := rs.req
	send := func(field, value string) (*http.Response, error) {
		body, err := rs.body()
		if err != nil {
			return nil, err
		}
		r2 := req.Clone(ctx)
		r2.Body = body
		if field != "" {
			r2.Header.Set(field, value)
			// A handshake needs its connection to stay open; the
			// request's own Connection: close applies after it.
			r2.Close = false
		}
		return cc.exchange(ctx, r2)
	}
	resp, err := send("", "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusProxyAuthRequired && cc.key.viaHTTPProxy() {
		host := hostOf(cc.key.proxyAddr)
		resp, err = t.handshake(ctx, cc, resp, authRole{proxy: true, host: host, redial: true}, send)
		if err != nil {
			return nil, err
		}
	}
	if resp.StatusCode == http.StatusUnauthorized && t.allowed(req.URL) {
		resp, err = t.handshake(ctx, cc, resp, authRole{host: req.URL.Hostname(), redial: true}, send)
		if err != nil {
			return nil, err
		}
	}
	return cc.deliver(ctx, resp, req.Close), nil
}

// authRole is whom a handshake authenticates to.
type authRole struct {
	proxy bool
	host  string
	// redial lets the handshake start on a new connection when the
	// server closes the one that carried its challenge (not for a
	// CONNECT, which is itself part of dialing).
	redial bool
}

// bindings returns the channel bindings of the role on cc.
func (r authRole) bindings(cc *clientConn) *sspi.ChannelBindings {
	if r.proxy {
		return cc.proxyBindings
	}
	return cc.bindings
}

func (r authRole) fields() (challenge, credentials string, status int) {
	if r.proxy {
		return "Proxy-Authenticate", "Proxy-Authorization", http.StatusProxyAuthRequired
	}
	return "WWW-Authenticate", "Authorization", http.StatusUnauthorized
}

// handshake answers the challenge in resp on cc, sending each leg with
// send, and returns the response to the last leg. A challenge it cannot
// answer (no scheme in common) is returned as it came; a refusal (a
// fresh challenge after the last leg) is returned as the server sent it.
func (t *Transport) handshake(ctx context.Context, cc *clientConn, resp *http.Response, role authRole,
	send func(field, value string) (*http.Response, error)) (*http.Response, error) {
	chField, credField, status := role.fields()
	chs, err := parseChallenges(resp.Header.Values(chField))
	if err != nil {
		return resp, nil // not a challenge we can read: the caller's
	}
	pkg, scheme, in, ok := t.pick(chs)
	if !ok {
		return resp, nil
	}
	if err := cc.discard(ctx, resp); err != nil {
		if !errors.Is(err, errClosing) || !role.redial {
			return nil, err
		}
		// The challenge came with Connection: close: the first leg
		// goes on a new connection.
		if err := cc.redial(ctx); err != nil {
			return nil, err
		}
	}
	flags := t.cfg.Flags
	if scheme == SchemeNegotiate {
		flags |= sspi.ISCReqMutualAuth
	}
	sc := sspi.NewClientContext(t.creds[strings.ToLower(pkg)], &sspi.ClientConfig{
		Target: t.cfg.Target(role.host), Flags: flags, Bindings: role.bindings(cc),
	})
	defer sc.Delete()
	who := "origin"
	if role.proxy {
		who = "proxy"
	}
	fail := func(err error) (*http.Response, error) {
		return nil, fmt.Errorf("httpauth: %s authentication to %s %s: %w", scheme, who, role.host, err)
	}
	failMutual := func(format string, args ...any) (*http.Response, error) {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s authentication to %s %s: "+format, append([]any{ErrMutualAuth, scheme, who, role.host}, args...)...)
	}
	httpStatus := 0
	for legs := 1; ; legs++ {
		out, st, err := t.initialize(ctx, sc, in)
		t.leg(role, scheme, pkg, httpStatus, len(in), len(out), st, err)
		if err != nil {
			return fail(err)
		}
		if legs > maxClientLegs {
			return fail(fmt.Errorf("more than %d legs", maxClientLegs))
		}
		if len(out) == 0 {
			return fail(errors.New("the package produced no token to send"))
		}
		if resp, err = send(credField, encodeToken(scheme, out)); err != nil {
			return nil, err
		}
		httpStatus = resp.StatusCode
		tok, err := challengeToken(resp.Header, chField, scheme)
		if err != nil {
			resp.Body.Close()
			return fail(fmt.Errorf("the server's token: %w", err))
		}
		if resp.StatusCode == status {
			if tok == nil || sc.Established() {
				// Refused: the server starts over, or never says why.
				return resp, nil
			}
			if err := cc.discard(ctx, resp); err != nil {
				return nil, err
			}
			in = tok
			continue
		}
		// The server accepted (or answered otherwise); a final token must
		// complete our context.
		if tok != nil {
			if sc.Established() {
				return failMutual("a token after the handshake completed")
			}
			out, st, err := t.initialize(ctx, sc, tok)
			t.leg(role, scheme, pkg, httpStatus, len(tok), len(out), st, err)
			if err != nil {
				return failMutual("the final token does not verify: %w", err)
			}
			if st != sspi.StatusOK || len(out) > 0 {
				return failMutual("the final token leaves the handshake unfinished (%v)", st)
			}
		} else if t.cfg.RequireMutualAuth {
			return failMutual("no final token")
		}
		return resp, nil
	}
}

// initialize runs one leg, completing the token if the package asks.
func (t *Transport) initialize(ctx context.Context, sc *sspi.ClientContext, in []byte) ([]byte, sspi.Status, error) {
	out, st, err := sc.Initialize(ctx, in)
	if err == nil && (st == sspi.StatusCompleteNeeded || st == sspi.StatusCompleteAndContinue) {
		out, err = sc.CompleteAuthToken(out)
		if st == sspi.StatusCompleteNeeded {
			st = sspi.StatusOK
		} else {
			st = sspi.StatusContinueNeeded
		}
	}
	return out, st, err
}

func (t *Transport) leg(role authRole, scheme, pkg string, httpStatus, in, out int, st sspi.Status, err error) {
	if t.cfg.OnLeg == nil {
		return
	}
	if err != nil {
		st = sspi.StatusOf(err)
	}
	t.cfg.OnLeg(Leg{Proxy: role.proxy, Host: role.host, Scheme: scheme, Package: pkg, HTTPStatus: httpStatus,
		In: in, Out: out, Status: st, Err: err})
}

// replayable reports whether req may be sent again after a failure that
// left unknown whether the server saw it: idempotent, with a body that
// can be sent again (http.Transport's rule).
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		if req.Header.Get("Idempotency-Key") == "" && req.Header.Get("X-Idempotency-Key") == "" {
			return false
		}
	}
	return rewindable(req)
}

// rewindable reports whether req's body can be sent again.
func rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// reqState is a request being sent, perhaps several times.
type reqState struct {
	req      *http.Request
	bodyUsed bool
}

// body returns the body to send: the request's own the first time, a
// fresh copy from GetBody after that.
func (rs *reqState) body() (io.ReadCloser, error) {
	req := rs.req
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		return req.Body, nil
	case !rs.bodyUsed:
		rs.bodyUsed = true
		return req.Body, nil
	case req.GetBody == nil:
		return nil, ErrBodyNotRewindable
	}
	return req.GetBody()
}
