package accounts

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// redacted is the text an Account prints as. It names the packages that
// have a verifier, never the verifier bytes.
func (a Account) redacted() string {
	var b strings.Builder
	fmt.Fprintf(&b, "{Domain:%q Name:%q Groups:%q Disabled:%t Verifiers:[", a.Domain, a.Name, a.Groups, a.Disabled)
	for i, pkg := range a.verifierPackages() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%q:REDACTED", pkg)
	}
	fmt.Fprintf(&b, "] Lockout:%+v Created:%v Updated:%v}", a.Lockout, a.Created, a.Updated)
	return b.String()
}

func (a Account) verifierPackages() []string {
	pkgs := make([]string, 0, len(a.Verifiers))
	for pkg := range a.Verifiers {
		pkgs = append(pkgs, pkg)
	}
	slices.Sort(pkgs)
	return pkgs
}

// String describes the account with its verifiers redacted.
func (a Account) String() string { return a.redacted() }

// GoString is String: %#v must not print verifiers either.
func (a Account) GoString() string { return "accounts.Account" + a.redacted() }

// Format prints the account redacted whatever the verb (%v, %+v, %#v,
// %s, %x, %d, …), so that no format string prints a verifier.
func (a Account) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, a.GoString())
		return
	}
	fmt.Fprint(f, a.redacted())
}

// LogValue logs the account without its verifiers' bytes.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("domain", a.Domain),
		slog.String("name", a.Name),
		slog.Any("groups", a.Groups),
		slog.Bool("disabled", a.Disabled),
		slog.Any("verifiers", a.verifierPackages()),
		slog.Int("failures", a.Lockout.Failures),
		slog.Time("locked_until", a.Lockout.LockedUntil),
	)
}

var (
	_ fmt.Stringer   = Account{}
	_ fmt.Formatter  = Account{}
	_ slog.LogValuer = Account{}
)
