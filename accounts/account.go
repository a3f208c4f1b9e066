package accounts

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// newAccount checks a for Create and returns the account as it will be
// stored: a deep copy, groups sorted, a clear lockout state, and Created
// and Updated set to now. Created, Updated and Lockout of a are ignored.
func newAccount(a *Account, now time.Time) (*Account, error) {
	if a == nil {
		return nil, errors.New("accounts: nil account")
	}
	if err := checkAccountName(a.Domain, a.Name); err != nil {
		return nil, err
	}
	groups, err := normGroups(a.Groups)
	if err != nil {
		return nil, err
	}
	verifiers, err := normVerifiers(a.Verifiers)
	if err != nil {
		return nil, err
	}
	return &Account{
		Domain:    a.Domain,
		Name:      a.Name,
		Groups:    groups,
		Disabled:  a.Disabled,
		Verifiers: verifiers,
		Created:   now,
		Updated:   now,
	}, nil
}

func logLocked(cfg *config, domain, name string, st LockoutState) {
	cfg.log.Info("accounts: account locked out",
		slog.String("domain", domain),
		slog.String("name", name),
		slog.Int("failures", st.Failures),
		slog.Time("locked_until", st.LockedUntil))
}

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
