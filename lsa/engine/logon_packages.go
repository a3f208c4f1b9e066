package engine

import (
	"context"
	"strings"

	"github.com/opensspi/sspi/secpkg"
)

// logonsEnded tells every package that keeps state of its own for logon
// sessions (secpkg.LogonTerminator, SpLogonTerminated) which sessions
// ended since the last call. It runs with no lock of the engine held, in
// the call that ended them (or the janitor's).
func (e *Engine) logonsEnded(ctx context.Context) {
	ids := e.logons.takeEnded()
	if len(ids) == 0 {
		return
	}
	e.pkgMu.RLock()
	var terms []secpkg.LogonTerminator
	for _, p := range e.packages {
		if t, ok := p.lsa.(secpkg.LogonTerminator); ok {
			terms = append(terms, t)
		}
	}
	e.pkgMu.RUnlock()
	for _, t := range terms {
		for _, id := range ids {
			t.LogonTerminated(ctx, id)
		}
	}
}

// listCredentials asks every enabled package that can describe what it
// keeps in a logon session (secpkg.CredentialLister) to do so. ctx
// carries the session owner's CallInfo. A package that fails is left out
// of the list (and logged): listing is informative.
func (e *Engine) listCredentials(ctx context.Context, id secpkg.LogonID) []secpkg.CredentialInfo {
	e.pkgMu.RLock()
	pkgs := make([]*loadedPackage, 0, len(e.packages))
	for _, p := range e.packages {
		if e.enabled[strings.ToLower(p.name)] {
			pkgs = append(pkgs, p)
		}
	}
	e.pkgMu.RUnlock()
	var out []secpkg.CredentialInfo
	for _, p := range pkgs {
		l, ok := p.lsa.(secpkg.CredentialLister)
		if !ok {
			continue
		}
		list, err := l.ListCredentials(ctx, id)
		if err != nil {
			e.log.Debug("listing a logon session's credentials failed", "package", p.name, "err", err)
			continue
		}
		for _, c := range list {
			c.Package = p.name
			out = append(out, c)
		}
	}
	return out
}
