package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/httpauth"
	"github.com/opensspi/sspi/secpkg"
)

func newHTTPCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "http",
		Short: "HTTP Negotiate and NTLM authentication: a server, a reverse proxy, a client",
		Long: `http runs integrated Windows authentication over HTTP (RFC 4559): a server
whose page says who you are, an authenticating reverse proxy that puts single
sign-on in front of any web application, and a client. doc/http.md has curl and
browser settings.`,
	}
	cmd.AddCommand(newHTTPServeCmd(e), newHTTPProxyCmd(e), newHTTPGetCmd(e))
	return cmd
}

// kerberosNote is said in help when this build has no Kerberos package.
func kerberosNote() string {
	if _, _, ok := secpkg.Lookup("Kerberos"); ok {
		return ""
	}
	return " (this build has no Kerberos package yet: Negotiate runs NTLM, and --package Kerberos fails)"
}

// httpServerFlags are what serve and proxy share: the listener, TLS and
// the Handler's configuration.
type httpServerFlags struct {
	listen, pkg, principal, keytab string
	certFile, keyFile              string
	ntlm, perRequest               bool
	epa                            string
}

func (f *httpServerFlags) register(cmd *cobra.Command, listen string) {
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", listen, "address to listen on")
	fl.StringVar(&f.pkg, "package", "Negotiate", "security package: Negotiate, NTLM (the NTLM scheme only) or Kerberos"+kerberosNote())
	fl.BoolVar(&f.ntlm, "ntlm", true, "with --package Negotiate, also offer the NTLM scheme (for curl --ntlm and old clients)")
	fl.StringVar(&f.principal, "principal", "", `service principal name to accept as, such as HTTP/www.example.com; NTLM then requires clients to name it (curl's own NTLM does not)`)
	fl.StringVar(&f.keytab, "keytab", "", "Kerberos keytab of the LSA in this process (sets KRB5_KTNAME)"+kerberosNote())
	fl.StringVar(&f.certFile, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) file")
	fl.StringVar(&f.keyFile, "tls-key", "", "the PEM private key of --tls-cert")
	fl.BoolVar(&f.perRequest, "per-request", false, "authenticate every request, not once per connection (behind a proxy that pools connections)")
	fl.StringVar(&f.epa, "extended-protection", "allow", "channel bindings over HTTPS: allow (check those sent), require, or off")
}

// handler builds the authentication Handler and the TLS configuration.
func (f *httpServerFlags) handler(ctx context.Context, e *env, log *slog.Logger) (*httpauth.Handler, *tls.Config, error) {
	if f.keytab != "" {
		if e.lsaSocket() != "" {
			return nil, nil, hint(errors.New("--keytab configures an LSA in this process"), "lsad reads its keytab from its own configuration; drop --keytab or --lsa")
		}
		// The Kerberos convention, read by the LSA this process starts.
		path := f.keytab
		if !strings.Contains(path, ":") {
			path = "FILE:" + path
		}
		os.Setenv("KRB5_KTNAME", path)
	}
	var ep httpauth.ExtendedProtection
	switch f.epa {
	case "allow":
		ep = httpauth.ExtendedProtectionAllow
	case "require":
		ep = httpauth.ExtendedProtectionRequire
	case "off":
		ep = httpauth.ExtendedProtectionOff
	default:
		return nil, nil, fmt.Errorf("unknown --extended-protection %q (allow, require or off)", f.epa)
	}
	var tlsCfg *tls.Config
	var leaf *x509.Certificate
	switch {
	case f.certFile != "" && f.keyFile != "":
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return nil, nil, err
		}
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, nil, err
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	case f.certFile != "" || f.keyFile != "":
		return nil, nil, errors.New("--tls-cert and --tls-key go together")
	case ep == httpauth.ExtendedProtectionRequire:
		return nil, nil, errors.New("--extended-protection require needs HTTPS (--tls-cert, --tls-key)")
	}
	p, err := e.provider(ctx)
	if err != nil {
		return nil, nil, err
	}
	cfg := &httpauth.ServerConfig{
		Provider: p, Package: f.pkg, NTLM: f.ntlm && !strings.EqualFold(f.pkg, "NTLM"), Principal: f.principal,
		PerRequest: f.perRequest, ExtendedProtection: ep, Logger: log,
	}
	if leaf != nil {
		cfg.Certificate = func(*tls.ConnectionState) *x509.Certificate { return leaf }
	}
	h, err := httpauth.NewHandler(ctx, cfg)
	if err != nil {
		if errors.Is(err, sspi.StatusPackageNotFound) {
			return nil, nil, hint(err, "see 'sspi packages' for the packages this LSA has")
		}
		return nil, nil, err
	}
	e.closers = append(e.closers, h.Close)
	return h, tlsCfg, nil
}

// serveHTTP serves next behind h on f's address until ctx ends.
func (f *httpServerFlags) serveHTTP(ctx context.Context, e *env, h *httpauth.Handler, tlsCfg *tls.Config, next http.Handler, what string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return hint(err, "another program listens on %s; choose another --listen address", f.listen)
		}
		return err
	}
	srv := &http.Server{
		Handler:           h.Wrap(next),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	h.Install(srv)
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsCfg)
	}
	url := scheme + "://" + ln.Addr().String() + "/"
	e.report(map[string]any{"event": "listening", "url": url, "package": f.pkg, "what": what},
		"listening on %s (%s)\n", url, what)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

// logger is where the Handler says why it refused a request: standard
// error, with -v the handshakes too.
func (e *env) logger() *slog.Logger {
	level := slog.LevelInfo
	if e.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}}))
}

// identityJSON describes an authenticated request: the page of
// 'sspi http serve'.
type identityJSON struct {
	User            string   `json:"user"`
	Domain          string   `json:"domain"`
	Package         string   `json:"package"`
	Scheme          string   `json:"scheme"`
	Mutual          bool     `json:"mutual"`
	ChannelBindings string   `json:"channel_bindings"`
	Persisted       bool     `json:"persisted"`
	Groups          []string `json:"groups,omitempty"`
	Workstation     string   `json:"workstation,omitempty"`
}

func describe(a *httpauth.Authentication) identityJSON {
	id := a.Identity
	return identityJSON{User: id.User, Domain: id.Domain, Package: id.Package, Scheme: a.Scheme, Mutual: a.Mutual,
		ChannelBindings: bindingsName(id.Bindings), Persisted: a.Persisted, Groups: id.Groups, Workstation: id.Workstation}
}

// bindingsName says what became of channel bindings, in a word.
func bindingsName(r sspi.ChannelBindingResult) string {
	switch {
	case r&sspi.BindingsValidMatched != 0:
		return "matched"
	case r&sspi.BindingsValidMissing != 0:
		return "missing" // the client sent none; the policy allowed it
	case r&sspi.BindingsAbsent != 0, r == 0:
		return "none" // not over TLS, or not checked
	}
	return strings.ToLower(r.String())
}

func newHTTPServeCmd(e *env) *cobra.Command {
	var f httpServerFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a page that says who you are, over Negotiate and NTLM",
		Long: `serve answers 401 with WWW-Authenticate: Negotiate (and NTLM), runs the
handshake against the LSA (AcceptSecurityContext, accounts from --store or lsad),
and answers each authenticated request with a JSON object describing the client:
user, domain, package, scheme, mutual (a final token went back), channel_bindings
(matched, missing or none) and persisted (the request rode on its connection's
earlier handshake).`,
		Example: `  sspi http serve --listen 127.0.0.1:8080 --store sqlite:/tmp/a.db
  curl --ntlm -u 'alice:secret' http://127.0.0.1:8080/
  sspi http serve --listen :8443 --tls-cert cert.pem --tls-key key.pem --principal HTTP/www.example.com --store sqlite:/tmp/a.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := e.logger()
			h, tlsCfg, err := f.handler(ctx, e, log)
			if err != nil {
				return err
			}
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a := httpauth.AuthenticationFrom(r.Context())
				d := describe(a)
				e.report(map[string]any{"event": "request", "remote": r.RemoteAddr, "method": r.Method, "path": r.URL.Path, "identity": d},
					"%s: %s %s as %s (%s over %s)\n", r.RemoteAddr, r.Method, r.URL.Path, a.Identity, d.Package, d.Scheme)
				w.Header().Set("Content-Type", "application/json")
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				enc.Encode(d)
			})
			return f.serveHTTP(ctx, e, h, tlsCfg, page, "Negotiate page", log)
		},
	}
	f.register(cmd, "127.0.0.1:8080")
	return cmd
}

// Identity headers of 'sspi http proxy', after --header-prefix.
const (
	hdrUser    = "User"
	hdrDomain  = "Domain"
	hdrPackage = "Package"
	hdrGroups  = "Groups"
)

// stripPrefixed removes every header that names, or could be taken by an
// upstream for, one starting with prefix: compared without regard to
// case, with "_" taken as "-" (CGI and WSGI map both to the same
// variable, so "X-Remote_User" would otherwise pass as X-Remote-User).
func stripPrefixed(h http.Header, prefix string) {
	p := strings.ToLower(strings.ReplaceAll(prefix, "_", "-"))
	for name := range h {
		if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(name, "_", "-")), p) {
			delete(h, name)
		}
	}
}

// isOurScheme reports whether a challenge header value is Negotiate's or
// NTLM's.
func isOurScheme(v string) bool {
	s, _, _ := strings.Cut(strings.TrimSpace(v), " ")
	s = strings.TrimRight(s, ",")
	return strings.EqualFold(s, httpauth.SchemeNegotiate) || strings.EqualFold(s, httpauth.SchemeNTLM)
}

func newHTTPProxyCmd(e *env) *cobra.Command {
	var f httpServerFlags
	var upstream, prefix string
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "An authenticating reverse proxy: Negotiate/NTLM single sign-on in front of a web application",
		Long: `proxy authenticates each client with Negotiate or NTLM and forwards its requests
to --upstream with the client's identity in headers: <prefix>User, <prefix>Domain,
<prefix>Package and, when the account has groups, <prefix>Groups (with the default
prefix X-Remote-User and so on). Every header a client sends whose name starts
with the prefix (also when spelled with "_") is removed first, so a client cannot
name itself. Only authenticated requests reach the upstream; it should accept
connections from the proxy only. This is the job of Apache's mod_auth_gssapi or
nginx's SPNEGO modules.`,
		Example: `  sspi http proxy --listen 127.0.0.1:8080 --upstream http://127.0.0.1:3000 --store sqlite:/tmp/a.db
  sspi http proxy --listen :443 --tls-cert cert.pem --tls-key key.pem --upstream http://127.0.0.1:3000 --principal HTTP/app.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			up, err := url.Parse(upstream)
			if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
				return fmt.Errorf("--upstream %q is not an http:// or https:// URL", upstream)
			}
			if prefix == "" || strings.ContainsAny(prefix, " :") {
				return fmt.Errorf("--header-prefix %q is not a header name prefix", prefix)
			}
			log := e.logger()
			h, tlsCfg, err := f.handler(ctx, e, log)
			if err != nil {
				return err
			}
			rp := &httputil.ReverseProxy{
				Rewrite: func(pr *httputil.ProxyRequest) {
					pr.SetURL(up)
					pr.SetXForwarded()
					out := pr.Out.Header
					stripPrefixed(out, prefix)
					out.Del("Authorization")
					a := httpauth.AuthenticationFrom(pr.In.Context())
					out.Set(prefix+hdrUser, a.Identity.User)
					out.Set(prefix+hdrDomain, a.Identity.Domain)
					out.Set(prefix+hdrPackage, a.Identity.Package)
					if len(a.Identity.Groups) > 0 {
						out.Set(prefix+hdrGroups, strings.Join(a.Identity.Groups, ","))
					}
				},
				ModifyResponse: func(resp *http.Response) error {
					// The upstream does not speak for this proxy's
					// authentication.
					vals := resp.Header.Values("WWW-Authenticate")
					resp.Header.Del("WWW-Authenticate")
					for _, v := range vals {
						if !isOurScheme(v) {
							resp.Header.Add("WWW-Authenticate", v)
						}
					}
					return nil
				},
				ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
					log.Warn("upstream failed", "upstream", up.Redacted(), "err", err.Error())
					http.Error(w, "502 bad gateway", http.StatusBadGateway)
				},
				ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			}
			logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a := httpauth.AuthenticationFrom(r.Context())
				e.report(map[string]any{"event": "request", "remote": r.RemoteAddr, "method": r.Method, "path": r.URL.Path, "identity": describe(a)},
					"%s: %s %s as %s, forwarded\n", r.RemoteAddr, r.Method, r.URL.Path, a.Identity)
				rp.ServeHTTP(w, r)
			})
			return f.serveHTTP(ctx, e, h, tlsCfg, logged, "proxy to "+up.Redacted(), log)
		},
	}
	f.register(cmd, "127.0.0.1:8080")
	cmd.Flags().StringVar(&upstream, "upstream", "", "the web application's URL (required)")
	cmd.Flags().StringVar(&prefix, "header-prefix", "X-Remote-", "prefix of the identity headers sent upstream")
	cmd.MarkFlagRequired("upstream")
	return cmd
}

func newHTTPGetCmd(e *env) *cobra.Command {
	var pkg, user, proxy, caFile string
	var allow []string
	var stdin, mutual bool
	cmd := &cobra.Command{
		Use:   "get URL",
		Short: "Fetch a URL, answering Negotiate and NTLM challenges (origin and proxy)",
		Long: `get fetches URL and prints the status line and the body. It answers the
server's 401 (and a proxy's 407, CONNECT tunnels included) with Negotiate, else
NTLM, as --user (password from SSPI_PASSWORD, standard input or a prompt) or,
without --user, with your default credentials from lsad. Credentials go only to
the URL's host and to the hosts --allow names; a proxy comes from --proxy or
HTTPS_PROXY/HTTP_PROXY. With -v each leg of each handshake is shown.`,
		Example: `  SSPI_PASSWORD=secret sspi http get http://127.0.0.1:8080/ --user 'EXAMPLE\alice' -v
  sspi http get https://intranet.example.com/ --proxy http://proxy.example.com:3128 --mutual`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			u, err := url.Parse(args[0])
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%q is not an http:// or https:// URL", args[0])
			}
			p, err := e.provider(ctx)
			if err != nil {
				return err
			}
			cfg := &httpauth.ClientConfig{
				Provider: p, AllowedHosts: append([]string{u.Hostname()}, allow...), RequireMutualAuth: mutual,
				OnLeg: e.httpLegPrinter(),
			}
			switch {
			case strings.EqualFold(pkg, "Negotiate"):
				// The transport's default: Negotiate, then NTLM, each
				// if it has credentials.
			default:
				cfg.Packages = []string{pkg}
			}
			if proxy != "" {
				pu, err := url.Parse(proxy)
				if err != nil || pu.Host == "" {
					return fmt.Errorf("--proxy %q is not a URL", proxy)
				}
				cfg.Proxy = http.ProxyURL(pu)
			}
			if caFile != "" {
				pem, err := os.ReadFile(caFile)
				if err != nil {
					return err
				}
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					return fmt.Errorf("no PEM certificate in %s", caFile)
				}
				cfg.TLSClientConfig = &tls.Config{RootCAs: pool}
			}
			if user != "" {
				d, name := splitUser(user, "")
				pw, err := e.passwordFrom(bufio.NewReader(e.stdin), "Password for "+user+": ", stdin)
				if err != nil {
					return err
				}
				defer clear(pw)
				cfg.Identity = &sspi.AuthIdentity{User: name, Domain: d, Password: pw}
			}
			tr, err := httpauth.NewTransport(ctx, cfg)
			if err != nil {
				if errors.Is(err, sspi.StatusPackageNotFound) {
					return hint(err, "see 'sspi packages' for the packages this LSA has")
				}
				return err
			}
			e.closers = append(e.closers, tr.Close)
			resp, err := (&http.Client{Transport: tr}).Get(u.String())
			if err != nil {
				var ne *net.OpError
				switch {
				case errors.As(err, &ne) && ne.Op == "dial":
					return hint(err, "is a server listening at %s?", u.Host)
				case errors.Is(err, httpauth.ErrMutualAuth):
					return hint(err, "the server's final token was missing or wrong: it did not prove it is %s", u.Hostname())
				}
				return err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			if err != nil {
				return err
			}
			if e.json {
				writeJSON(e.stdout, map[string]any{"status": resp.StatusCode, "status_text": resp.Status, "body": string(body)})
			} else {
				fmt.Fprintf(e.stdout, "%s %s\n", resp.Proto, resp.Status)
				e.stdout.Write(body)
				if len(body) > 0 && body[len(body)-1] != '\n' {
					fmt.Fprintln(e.stdout)
				}
			}
			if resp.StatusCode >= 400 {
				err := fmt.Errorf("the server answered %s", resp.Status)
				if resp.StatusCode == http.StatusUnauthorized {
					return hint(err, "check the user and password; credentials go only to %s", strings.Join(cfg.AllowedHosts, ", "))
				}
				return err
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&pkg, "package", "Negotiate", "security package: Negotiate (then NTLM), NTLM or Kerberos"+kerberosNote())
	fl.StringVar(&user, "user", "", `user to authenticate as ("DOMAIN\user"); empty: default credentials`)
	fl.BoolVar(&stdin, "password-stdin", false, "read the password from the first line of standard input")
	fl.StringVar(&proxy, "proxy", "", "proxy URL (default: HTTPS_PROXY, HTTP_PROXY)")
	fl.StringSliceVar(&allow, "allow", nil, "more hosts that may receive credentials (www.example.com, *.example.com)")
	fl.BoolVar(&mutual, "mutual", false, "require the server to prove itself with a final token (never NTLM)")
	fl.StringVar(&caFile, "ca", "", "PEM file of the certificate authorities to trust for HTTPS")
	return cmd
}

// httpLegPrinter shows each leg on standard error with -v.
func (e *env) httpLegPrinter() func(httpauth.Leg) {
	if !e.verbose {
		return nil
	}
	return func(l httpauth.Leg) {
		who := "origin"
		if l.Proxy {
			who = "proxy"
		}
		got := "first leg"
		if l.HTTPStatus != 0 {
			got = fmt.Sprintf("%d bytes from a %d", l.In, l.HTTPStatus)
		}
		e.outMu.Lock()
		defer e.outMu.Unlock()
		fmt.Fprintf(e.stderr, "%s %s: %s (%s): %s, %d bytes out, %s\n", who, l.Host, l.Scheme, l.Package, got, l.Out, l.Status.String())
	}
}
