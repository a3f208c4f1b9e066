package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/sspinet"
)

func (e *env) legPrinter(prefix string) func(sspinet.Leg) {
	if !e.verbose {
		return nil
	}
	return func(l sspinet.Leg) {
		who := "server"
		if l.Client {
			who = "client"
		}
		fmt.Fprintf(e.stderr, "%s%s %s: %d bytes in, %d bytes out, %s\n", prefix, l.Package, who, l.In, l.Out, l.Status.String())
	}
}

// thisHost is the host's name, for default service principal names.
func thisHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// spnService is the service class of default principal names: HOST, as
// a Windows host's services use, or host, as Kerberos keytabs write it
// (MIT compares names case-sensitively), for Kerberos and Negotiate.
func spnService(pkg string) string {
	if isKerberos(pkg) {
		return "host"
	}
	return "HOST"
}

// isKerberos reports whether pkg may authenticate with Kerberos.
func isKerberos(pkg string) bool {
	return strings.EqualFold(pkg, "Kerberos") || strings.EqualFold(pkg, "Negotiate")
}

// defaultPrincipal is the service principal name serve accepts as by
// default: HOST/ (host/ for Kerberos and Negotiate) and this host's name,
// as a Windows host's services do.
func defaultPrincipal(pkg string) string { return spnService(pkg) + "/" + thisHost() }

// defaultTarget is the principal name connect asks for by default:
// HOST/ (host/ for Kerberos and Negotiate) and the server's host name from
// addr, or this host's name when addr is this host (a loopback address),
// so that serve and connect on one host agree without options.
func defaultTarget(addr, pkg string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if ip := net.ParseIP(host); host == "" || strings.EqualFold(host, "localhost") || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return defaultPrincipal(pkg)
	}
	return spnService(pkg) + "/" + host
}

func newServeCmd(e *env) *cobra.Command {
	var listen, pkg, principal, records string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run an echo server over authenticated connections (sspinet)",
		Long: `serve accepts connections, authenticates each client with the package
(AcceptSecurityContext against the account store), prints who it is, and echoes
every line it receives, sealed.

It accepts as the service principal --principal (by default HOST/ and this
host's name; host/ for Kerberos and Negotiate); clients must target that name
(connect's --target, whose default matches on this host).

Kerberos (and Negotiate choosing it) accepts with the keys of the LSA's service
keytabs: lsad's ([kerberos] keytabs in lsad.toml), or in this process those of
KRB5_KTNAME (else krb5.conf's default_keytab_name, else /etc/krb5.keytab), with
the realm of KRB5_CONFIG (else /etc/krb5.conf). --principal must be a principal
of the keytab, and lsad's policy must let your uid accept as it. A client that
delegates (connect --delegate) leaves its forwarded TGT in a network logon
session of your uid, which serve prints and 'sspi sessions' lists (NETWORK).`,
		Example: `  sspi serve --listen 127.0.0.1:7000 --package NTLM --store sqlite:/tmp/a.db
  sspi serve --listen 127.0.0.1:7000 --package Kerberos --principal host/server.example.com
  sspi serve --listen 127.0.0.1:7000 --package NTLM --lsa /run/opensspi/lsad.sock -v`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rp, err := parseRecords(records)
			if err != nil {
				return usage(cmd, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			p, err := e.provider(ctx)
			if err != nil {
				return err
			}
			if _, err := p.QueryPackage(ctx, pkg); err != nil {
				return hint(err, "see 'sspi packages' for the packages this LSA has")
			}
			if principal == "" {
				principal = defaultPrincipal(pkg)
			}
			cfg := &sspinet.Config{Provider: p, Package: pkg, Principal: principal, Records: rp, OnLeg: e.legPrinter("")}
			ln, err := sspinet.Listen("tcp", listen, cfg)
			if err != nil {
				if errors.Is(err, syscall.EADDRINUSE) {
					return hint(err, "another program listens on %s; choose another --listen address", listen)
				}
				return err
			}
			context.AfterFunc(ctx, func() { ln.Close() })
			e.report(map[string]any{"event": "listening", "address": ln.Addr().String(), "package": pkg, "principal": principal, "records": rp.String()},
				"listening on %s (%s) as %s, %s records\n", ln.Addr(), pkg, principal, rp)
			for {
				c, err := ln.Accept()
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				go e.echo(ctx, c.(*sspinet.Conn))
			}
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:7000", "address to listen on")
	cmd.Flags().StringVar(&pkg, "package", "NTLM", "security package")
	cmd.Flags().StringVar(&principal, "principal", "", "service principal name to accept as, which clients must target (default HOST/ and this host's name; host/ for Kerberos and Negotiate)")
	cmd.Flags().StringVar(&records, "records", "sealed", recordsUsage)
	return cmd
}

const recordsUsage = `record protection: "sealed" (the package's EncryptMessage), "signed" (signatures only) or "session-key" (AES-256-GCM keyed from the session key); both sides must agree`

func parseRecords(s string) (sspinet.RecordProtection, error) {
	switch s {
	case "sealed":
		return sspinet.RecordsSealed, nil
	case "signed":
		return sspinet.RecordsSigned, nil
	case "session-key":
		return sspinet.RecordsSessionKey, nil
	}
	return 0, fmt.Errorf("unknown record protection %q (sealed, signed or session-key)", s)
}

// report prints an event as a JSON line (--json) or as text.
func (e *env) report(v map[string]any, format string, args ...any) {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	if e.json {
		writeJSONLine(e.stdout, v)
		return
	}
	fmt.Fprintf(e.stdout, format, args...)
}

func (e *env) echo(ctx context.Context, c *sspinet.Conn) {
	defer c.Close()
	remote := c.RemoteAddr().String()
	if err := c.Handshake(ctx); err != nil {
		e.report(map[string]any{"event": "refused", "remote": remote, "status": sspi.StatusOf(err).String(), "error": err.Error()},
			"%s: refused: %v\n", remote, err)
		return
	}
	id, _ := c.Identity()
	st := c.ConnectionState()
	ev := map[string]any{"event": "authenticated", "remote": remote, "user": id.User, "domain": id.Domain,
		"package": id.Package, "mapped": st.Mapped, "flags": names(st.ServerFlags.RetString())}
	delegated := ""
	if id.LogonID != 0 {
		// The client delegated (Kerberos: a forwarded TGT): its
		// credentials wait in a network logon session of this uid.
		ev["delegated_logon_id"] = id.LogonID.String()
		delegated = fmt.Sprintf("; delegated credentials in logon session %s", id.LogonID)
	}
	e.report(ev, "%s: authenticated as %s (%s, mapped %v)%s\n", remote, id, id.Package, st.Mapped, delegated)
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 {
			if _, werr := c.Write([]byte(line)); werr != nil {
				return
			}
		}
		if err != nil {
			e.report(map[string]any{"event": "closed", "remote": remote}, "%s: closed\n", remote)
			return
		}
	}
}

func newConnectCmd(e *env) *cobra.Command {
	var pkg, user, target, records, keytab, ccache string
	var stdin, delegate bool
	cmd := &cobra.Command{
		Use:   "connect ADDR",
		Short: "Connect to an echo server with your credentials and send lines sealed",
		Long: `connect authenticates to ADDR with the package (InitializeSecurityContext)
as --user (password from SSPI_PASSWORD, standard input or a prompt) or, without
--user, with your default credentials from lsad. Then each line you type is sent
sealed and the server's echo printed.

It asks for the service principal --target: by default HOST/ (host/ for
Kerberos and Negotiate) and the host of ADDR, or this host's name when ADDR is a
loopback address, which is what serve accepts as by default on that host.
--records must be the server's.

Kerberos (and Negotiate choosing it) takes your default credentials from your
logon session in lsad ('sspi logon alice@REALM'), or in this process from the
client keytab (KRB5_CLIENT_KTNAME) or kinit's credentials cache (KRB5CCNAME);
or explicit ones: --user alice@REALM with a password, --keytab or --ccache. The
target is a service principal: host/server.example.com, host@server.example.com
or a full name with @REALM.`,
		Example: `  SSPI_PASSWORD=secret sspi connect 127.0.0.1:7000 --package NTLM --user alice
  sspi connect server.example.com:7000 --package Kerberos --target host/server.example.com
  sspi connect 127.0.0.1:7000 --package Negotiate --target host/localhost --user alice@EXAMPLE.COM
  printf 'secret\nhello\n' | sspi connect 127.0.0.1:7000 --user 'EXAMPLE\alice' --password-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rp, err := parseRecords(records)
			if err != nil {
				return usage(cmd, err)
			}
			ctx := cmd.Context()
			p, err := e.provider(ctx)
			if err != nil {
				return err
			}
			if _, err := p.QueryPackage(ctx, pkg); err != nil {
				return hint(err, "see 'sspi packages' for the packages this LSA has")
			}
			in := bufio.NewReader(e.stdin)
			if target == "" {
				target = defaultTarget(args[0], pkg)
			}
			cfg := &sspinet.Config{Provider: p, Package: pkg, Target: target, Records: rp, OnLeg: e.legPrinter("")}
			if delegate {
				cfg.ClientFlags |= sspi.ISCReqDelegate
			}
			if keytab != "" && ccache != "" {
				return usage(cmd, errors.New("give --keytab or --ccache, not both"))
			}
			if keytab != "" || ccache != "" {
				d, u := splitUser(user, "")
				typ, path := secpkg.PackedKeytabFile, keytab
				if ccache != "" {
					typ, path = secpkg.PackedCCacheFile, ccache
				}
				packed, err := packedFile(typ, path)
				if err != nil {
					return err
				}
				cfg.Identity = &sspi.AuthIdentity{User: u, Domain: d, Packed: packed}
			} else if user != "" {
				d, u := splitUser(user, "")
				pw, err := e.passwordFrom(in, "Password for "+user+": ", stdin)
				if err != nil {
					return err
				}
				defer clear(pw)
				cfg.Identity = &sspi.AuthIdentity{User: u, Domain: d, Password: pw}
			}
			c, err := sspinet.Dial(ctx, "tcp", args[0], cfg)
			if err != nil {
				return connectHint(err, args[0], pkg, target, records, cfg.Identity != nil)
			}
			defer c.Close()
			st := c.ConnectionState()
			ev := map[string]any{"event": "connected", "address": args[0], "package": st.Package, "target": target,
				"records": rp.String(), "mapped": st.Mapped, "flags": names(st.ClientFlags.RetString())}
			how := st.Package
			if st.Negotiated != "" && st.Negotiated != st.Package {
				// The package Negotiate chose.
				how = st.Negotiated + " over " + st.Package
				ev["negotiated"] = st.Negotiated
			}
			if st.ClientFlags&sspi.ISCRetDelegate != 0 {
				how += ", delegated"
			}
			e.report(ev,
				"connected to %s (%s, mapped %v) as a client of %s; type lines to send them sealed\n", args[0], how, st.Mapped, target)
			r := bufio.NewReader(c)
			for {
				line, err := in.ReadString('\n')
				if line != "" {
					if !strings.HasSuffix(line, "\n") {
						line += "\n"
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return err
					}
					echo, rerr := r.ReadString('\n')
					if rerr != nil {
						return rerr
					}
					e.report(map[string]any{"event": "echo", "line": strings.TrimSuffix(echo, "\n")}, "%s", echo)
				}
				if err != nil {
					return nil
				}
			}
		},
	}
	cmd.Flags().StringVar(&pkg, "package", "NTLM", "security package")
	cmd.Flags().StringVar(&user, "user", "", `user to authenticate as ("DOMAIN\user"); empty: default credentials`)
	cmd.Flags().StringVar(&target, "target", "", "the server's service principal name, its --principal (default HOST/ and the host of ADDR, this host's name for a loopback address)")
	cmd.Flags().StringVar(&records, "records", "sealed", recordsUsage)
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from the first line of standard input")
	cmd.Flags().StringVar(&keytab, "keytab", "", "Kerberos: authenticate with the keys of this keytab (--user picks the principal, else its first), read by the LSA with your rights")
	cmd.Flags().StringVar(&ccache, "ccache", "", "Kerberos: authenticate with the TGT of this credentials cache (kinit's), read by the LSA with your rights")
	cmd.Flags().BoolVar(&delegate, "delegate", false, "Kerberos: forward your TGT to the server (ISC_REQ_DELEGATE), which can then authenticate as you; the flags show DELEGATE if it was")
	return cmd
}

// connectHint adds to a failed connection what the user can change.
func connectHint(err error, addr, pkg, target, records string, explicit bool) error {
	var ne *net.OpError
	switch {
	case isKerberos(pkg) && !explicit && errors.Is(err, sspi.ErrNoCredentials):
		return hint(err, "log on in lsad (sspi logon alice@REALM) or kinit, or give --user alice@REALM, --keytab or --ccache")
	case isKerberos(pkg) && errors.Is(err, sspi.StatusTargetUnknown):
		return hint(err, "the KDC knows no service %s: give --target the server's principal, as its keytab holds it (serve's --principal)", target)
	case isKerberos(pkg) && errors.Is(err, sspi.StatusNoAuthenticatingAuthority):
		return hint(err, "no KDC of the realm answered: is the realm in krb5.conf (KRB5_CONFIG, or lsad's [kerberos] krb5_conf), with a KDC that runs?")
	case errors.As(err, &ne) && ne.Op == "dial":
		return hint(err, "is 'sspi serve' running at %s?", addr)
	case errors.Is(err, sspi.ErrLogonDenied):
		return hint(err, "the server refused the credentials: check the user name and password")
	case errors.Is(err, sspi.StatusWrongPrincipal):
		return hint(err, "the server accepts as another service than %s: give --target the server's --principal (serve prints it)", target)
	case errors.Is(err, sspi.StatusInvalidToken) && strings.Contains(err.Error(), "(reflection)"):
		// NTLM's initiator saw a challenge this host's LSA issued for
		// another service: a server on this host, through the same lsad,
		// that accepts as a name other than the target.
		return hint(err, "the server on this host accepts as another service than %s: give --target the server's --principal (serve prints it), or leave both to their defaults", target)
	case errors.Is(err, sspi.StatusAlgorithmMismatch) && strings.Contains(err.Error(), "records are"):
		return hint(err, "both sides must use the same --records (this client: %s); give connect the server's", records)
	}
	return err
}
