package rules

import (
	"crypto/subtle"
	"errors"
	"github.com/opensspi/sspi/accounts"

	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what a store accepts. They bound what an administrator (or a
// bug) can put into the store and, through Lookup, into every logon.
const (
	maxNameRunes     = 256      // domain, account, group and package names
	maxGroups        = 1024     // groups per account (the Windows token limit)
	maxVerifiers     = 64       // packages per account
	maxVerifierBytes = 64 << 10 // one package's verifier
	timePrecision    = time.Microsecond
)

// FoldKey returns the key under which a domain or account name is
// compared: accounts.NameKey. The key is computed here, not by the
// database, so that SQLite, PostgreSQL (whatever its locale) and the
// memory store agree.
func FoldKey(s string) string { return accounts.NameKey(s) }

// checkName reports whether s is acceptable as a domain, account, group or
// package name. Empty names are checked by the callers that forbid them.
func checkName(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("accounts: %s is not valid UTF-8", what)
	}
	if n := utf8.RuneCountInString(s); n > maxNameRunes {
		return fmt.Errorf("accounts: %s is longer than %d characters", what, maxNameRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("accounts: %s %q contains a control character", what, s)
		}
	}
	return nil
}

// CheckAccountName checks a domain and account name pair. The domain may
// be empty (a store with a single, unnamed domain); the name may not.
func CheckAccountName(domain, name string) error {
	if err := checkName("domain name", domain); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("accounts: empty account name")
	}
	return checkName("account name", name)
}

// NormGroups checks groups and returns them sorted without duplicates.
func NormGroups(groups []string) ([]string, error) {
	if len(groups) > maxGroups {
		return nil, fmt.Errorf("accounts: more than %d groups", maxGroups)
	}
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		if g == "" {
			return nil, fmt.Errorf("accounts: empty group name")
		}
		if err := checkName("group name", g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		return nil, nil
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// NormVerifiers checks verifiers and returns a deep copy.
func NormVerifiers(v map[string][]byte) (map[string][]byte, error) {
	if len(v) > maxVerifiers {
		return nil, fmt.Errorf("accounts: more than %d verifiers", maxVerifiers)
	}
	out := make(map[string][]byte, len(v))
	for pkg, b := range v {
		if pkg == "" {
			return nil, fmt.Errorf("accounts: verifier with an empty package name")
		}
		if err := checkName("package name", pkg); err != nil {
			return nil, err
		}
		// An empty verifier is refused: it is far more likely a bug in
		// the package that made it than a meaningful secret, and a
		// comparison against nothing must never succeed by accident.
		if len(b) == 0 {
			return nil, fmt.Errorf("accounts: empty verifier for package %q", pkg)
		}
		if len(b) > maxVerifierBytes {
			return nil, fmt.Errorf("accounts: verifier for package %q is larger than %d bytes", pkg, maxVerifierBytes)
		}
		out[pkg] = slices.Clone(b)
	}
	return out, nil
}

// NormTime returns t as the stores keep it: UTC, microsecond precision,
// no monotonic clock reading. The zero time stays zero.
func NormTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(timePrecision).UTC()
}

// ToMicros and FromMicros convert between times and the SQL
// representation: microseconds since the Unix epoch, NULL for the zero time.
func ToMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func FromMicros(v int64, valid bool) time.Time {
	if !valid {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// CloneAccount returns a deep copy of a.
func CloneAccount(a *accounts.Account) *accounts.Account {
	c := *a
	c.Groups = slices.Clone(a.Groups)
	if a.Verifiers != nil {
		c.Verifiers = make(map[string][]byte, len(a.Verifiers))
		for k, v := range a.Verifiers {
			c.Verifiers[k] = slices.Clone(v)
		}
	}
	return &c
}

// SortAccounts sorts by the folded domain and name (then by the names as
// given, which only matters for names that fold alike and cannot coexist).
func SortAccounts(list []*accounts.Account) {
	slices.SortFunc(list, func(a, b *accounts.Account) int {
		if c := strings.Compare(FoldKey(a.Domain), FoldKey(b.Domain)); c != 0 {
			return c
		}
		return strings.Compare(FoldKey(a.Name), FoldKey(b.Name))
	})
}

// NewAccount checks a for Create and returns the account as it will be
// stored: a deep copy, groups sorted, a clear lockout state, and Created
// and Updated set to now. Created, Updated and Lockout of a are ignored.
func NewAccount(a *accounts.Account, now time.Time) (*accounts.Account, error) {
	if a == nil {
		return nil, errors.New("accounts: nil account")
	}
	if err := CheckAccountName(a.Domain, a.Name); err != nil {
		return nil, err
	}
	groups, err := NormGroups(a.Groups)
	if err != nil {
		return nil, err
	}
	verifiers, err := NormVerifiers(a.Verifiers)
	if err != nil {
		return nil, err
	}
	return &accounts.Account{
		Domain:    a.Domain,
		Name:      a.Name,
		Groups:    groups,
		Disabled:  a.Disabled,
		Verifiers: verifiers,
		Created:   now,
		Updated:   now,
	}, nil
}

// Limits on package secrets and registration codes.
const (
	maxSecretBytes   = 64 << 10
	maxCodePartBytes = 64
)

// CheckVerifier checks one package's verifier, as NormVerifiers does each.
func CheckVerifier(pkg string, v []byte) error {
	_, err := NormVerifiers(map[string][]byte{pkg: v})
	return err
}

// CheckSecret checks a package secret's package and name, and its bytes
// unless secret is nil (a read).
func CheckSecret(pkg, name string, secret []byte) error {
	if pkg == "" || name == "" {
		return fmt.Errorf("accounts: package secret without a package or a name")
	}
	if err := checkName("package name", pkg); err != nil {
		return err
	}
	if err := checkName("secret name", name); err != nil {
		return err
	}
	if secret != nil && (len(secret) == 0 || len(secret) > maxSecretBytes) {
		return fmt.Errorf("accounts: package secret of %d bytes (want 1 to %d)", len(secret), maxSecretBytes)
	}
	return nil
}

// CheckCode checks a registration code's fields.
func CheckCode(c *accounts.RegistrationCode) error {
	if c == nil {
		return errors.New("accounts: nil registration code")
	}
	if err := CheckAccountName(c.Domain, c.Name); err != nil {
		return err
	}
	if c.Package == "" {
		return errors.New("accounts: registration code without a package")
	}
	if err := checkName("package name", c.Package); err != nil {
		return err
	}
	if n, m := len(c.Selector), len(c.Hash); n == 0 || m == 0 || n > maxCodePartBytes || m > maxCodePartBytes {
		return fmt.Errorf("accounts: registration code with a selector of %d bytes and a hash of %d (want 1 to %d each)", n, m, maxCodePartBytes)
	}
	return nil
}

// StoredCode is a registration code as a store keeps it: the keys of the
// account it is bound to (by the account's row, so that a code outlives
// neither its account nor a rename), its package, the hash of its secret
// and its expiry.
type StoredCode struct {
	DomainKey, NameKey string
	Package            string
	Hash               []byte
	Expires            time.Time
}

// MatchCode decides whether the stored code s admits the registration c
// presents at now: its secret's hash (compared in constant time), its
// expiry, its account and its package. The refusal wraps
// accounts.ErrInvalidCode and says why, for the audit log.
func MatchCode(s *StoredCode, c *accounts.RegistrationCode, now time.Time) error {
	refuse := func(why string) error { return fmt.Errorf("%w: %s", accounts.ErrInvalidCode, why) }
	if s == nil {
		return refuse("no code by that selector")
	}
	switch {
	case subtle.ConstantTimeCompare(s.Hash, c.Hash) != 1:
		return refuse("another secret")
	case !now.Before(s.Expires):
		return refuse("expired")
	case s.DomainKey != FoldKey(c.Domain) || s.NameKey != FoldKey(c.Name):
		return refuse("made for another account")
	case s.Package != c.Package:
		return refuse("made for another package")
	}
	return nil
}
