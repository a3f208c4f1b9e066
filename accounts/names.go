package accounts

import (
	"strings"
	"unicode"
)

// NameKey returns the key under which stores compare a domain or account
// name (see "Names" in the package documentation): every rune replaced by
// the smallest rune of its Unicode simple case folding orbit, so two names
// have the same key exactly when strings.EqualFold reports them equal
// ("K", "k" and the Kelvin sign "K" all fold to "K"). No Unicode
// normalization is applied. The LSA derives from it what must not change
// with the spelling of an account's name (secpkg.AccountKeyer).
func NameKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}
