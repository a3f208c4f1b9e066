package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// Registration of accounts with packages whose verifier the client makes
// (OPAQUE): the client's side runs here, in the sspi process, where the
// password is typed; the LSA (lsad, or the engine in this process) runs
// the other side through its registration call (lsa.Registration) and
// never sees the password, in either mode.

// clientRegistrar returns the registered package named pkg if its
// verifier is made by the client (secpkg.ClientRegistrar), with its
// registered name.
func clientRegistrar(pkg string) (secpkg.ClientRegistrar, string, bool) {
	p, name, ok := secpkg.Lookup(pkg)
	if !ok {
		return nil, "", false
	}
	cr, ok := p.(secpkg.ClientRegistrar)
	return cr, name, ok
}

// splitPackages sorts package names into those the LSA makes verifiers
// for from a password and those the client registers; an unknown name is
// an error.
func splitPackages(pkgs []string) (password, registered []string, err error) {
	for _, p := range pkgs {
		if _, name, ok := clientRegistrar(p); ok {
			registered = append(registered, name)
			continue
		}
		_, name, ok := secpkg.Lookup(p)
		if !ok {
			return nil, nil, fmt.Errorf("no package %q (sspi packages lists them)", p)
		}
		password = append(password, name)
	}
	return password, registered, nil
}

// registration returns conn's registration call.
func registration(conn lsa.Conn) (lsa.Registration, error) {
	r, ok := conn.(lsa.Registration)
	if !ok {
		return nil, errors.New("this LSA registers no accounts")
	}
	return r, nil
}

// register registers password for domain\user with pkg: the package's
// client side here (NewClientRegistration, Finish), the LSA's through
// its registration call, with a registration code if code is set (else
// the caller needs the admin right). options are the package's (OPAQUE:
// --ksf).
func register(ctx context.Context, conn lsa.Conn, pkg, domain, user string, password []byte, code, options string) error {
	cr, name, ok := clientRegistrar(pkg)
	if !ok {
		return fmt.Errorf("%s is not registered by the client (its verifier comes from 'sspi account add' or 'passwd')", pkg)
	}
	r, err := registration(conn)
	if err != nil {
		return err
	}
	reg, req, err := cr.NewClientRegistration(password, options)
	if err != nil {
		return err
	}
	begun, err := r.BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: name, Domain: domain, User: user, Token: req, Code: code})
	if err != nil {
		return err
	}
	// The key stretching runs here, as long as its parameters say; the
	// LSA keeps the registration for its handshake timeout meanwhile.
	upload, err := reg.Finish(begun.Token)
	if err != nil {
		return err
	}
	return r.FinishRegistration(ctx, &lsa.FinishRegistrationRequest{Registration: begun.Registration, Token: upload})
}

// codeJSON is a registration code an administrator hands over.
type codeJSON struct {
	Package string  `json:"package"`
	Code    string  `json:"code"`
	Expires *string `json:"expires,omitempty"`
}

// issueCodes makes a registration code for each package and says how the
// user redeems it.
func (e *env) issueCodes(ctx context.Context, a lsa.Admin, name, domain, user string, pkgs []string, life time.Duration) ([]codeJSON, error) {
	var out []codeJSON
	for _, p := range pkgs {
		r, err := a.CreateRegistrationCode(ctx, &lsa.RegistrationCodeRequest{Domain: domain, User: user, Package: p, Lifetime: life})
		if err != nil {
			return nil, err
		}
		out = append(out, codeJSON{Package: p, Code: r.Code, Expires: timeJSON(r.Expires)})
		if !e.json {
			pkgFlag := ""
			if !strings.EqualFold(p, defaultRegisterPackage) {
				pkgFlag = " --package " + p
			}
			fmt.Fprintf(e.stdout, "registration code for %s with %s: %s (valid until %s)\n", name, p, r.Code, r.Expires.Local().Format("2006-01-02 15:04 MST"))
			fmt.Fprintf(e.stdout, "the user registers a password with: sspi account register %s%s --code %s\n", shellQuote(name), pkgFlag, r.Code)
		}
	}
	return out, nil
}

// defaultRegisterPackage is the package 'sspi account register' registers
// unless --package says otherwise.
const defaultRegisterPackage = "OPAQUE"

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
