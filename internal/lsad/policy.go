package lsad

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

// Policy says what each caller may ask of the LSA, by uid and gid, in the
// manner of gssproxy's service sections. A caller is governed by exactly
// one rule: the one for its uid if there is one, else the one for its
// (primary) gid, else the default rule. Rules that could govern the same
// caller are refused when the policy is loaded, so the outcome never
// depends on their order.
type Policy struct {
	Default *Rule  `toml:"default"`
	Rules   []Rule `toml:"rule"`

	byUID map[uint32]*Rule
	byGID map[uint32]*Rule
}

// Rule is one caller's rights.
type Rule struct {
	// UID or GID selects the callers (exactly one of them, except in the
	// default rule, which has neither).
	UID *uint32 `toml:"uid"`
	GID *uint32 `toml:"gid"`
	// Packages the caller may use; "*" means all. Empty means none.
	Packages []string `toml:"packages"`
	// Accept lists the principals the caller may accept contexts as
	// (inbound credentials): exact names or path.Match patterns such as
	// "HTTP/*"; "*" means any. Empty means the caller may not accept.
	Accept []string `toml:"accept"`
	// ExplicitCredentials allows the caller to present a password
	// (explicit credentials, interactive logon).
	ExplicitCredentials bool `toml:"explicit_credentials"`
	// Initiate allows default outbound credentials (the caller's own
	// logon session).
	Initiate bool `toml:"initiate"`
	// Admin allows account administration.
	Admin bool `toml:"admin"`
}

// DefaultPolicy is the policy without a policy file: every caller may use
// every package, initiate, present its own password and accept as any
// principal; only root administers accounts.
func DefaultPolicy() *Policy {
	root := uint32(0)
	p := &Policy{
		Default: &Rule{Packages: []string{"*"}, Accept: []string{"*"}, ExplicitCredentials: true, Initiate: true},
		Rules:   []Rule{{UID: &root, Packages: []string{"*"}, Accept: []string{"*"}, ExplicitCredentials: true, Initiate: true, Admin: true}},
	}
	if err := p.index(); err != nil {
		panic(err)
	}
	return p
}

// LoadPolicy reads a policy file (TOML).
func LoadPolicy(file string) (*Policy, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("lsad: policy: %w", err)
	}
	return ParsePolicy(string(b))
}

// ParsePolicy parses a policy and checks it for ambiguity.
func ParsePolicy(text string) (*Policy, error) {
	p := new(Policy)
	md, err := toml.Decode(text, p)
	if err != nil {
		return nil, fmt.Errorf("lsad: policy: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("lsad: policy: unknown key %q", und[0].String())
	}
	if err := p.index(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Policy) index() error {
	p.byUID = make(map[uint32]*Rule)
	p.byGID = make(map[uint32]*Rule)
	if p.Default != nil && (p.Default.UID != nil || p.Default.GID != nil) {
		return errors.New("lsad: policy: the default rule names no uid or gid")
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		switch {
		case r.UID != nil && r.GID != nil:
			return fmt.Errorf("lsad: policy: rule %d names both a uid and a gid; write two rules", i+1)
		case r.UID != nil:
			if _, dup := p.byUID[*r.UID]; dup {
				return fmt.Errorf("lsad: policy: two rules for uid %d", *r.UID)
			}
			p.byUID[*r.UID] = r
		case r.GID != nil:
			if _, dup := p.byGID[*r.GID]; dup {
				return fmt.Errorf("lsad: policy: two rules for gid %d", *r.GID)
			}
			p.byGID[*r.GID] = r
		default:
			return fmt.Errorf("lsad: policy: rule %d names neither a uid nor a gid", i+1)
		}
		for _, pat := range r.Accept {
			if _, err := path.Match(pat, ""); err != nil {
				return fmt.Errorf("lsad: policy: rule %d: bad accept pattern %q", i+1, pat)
			}
		}
	}
	return nil
}

// rule returns the rule governing a caller, or nil.
func (p *Policy) rule(ci secpkg.CallInfo) *Rule {
	if r := p.byUID[ci.UID]; r != nil {
		return r
	}
	if r := p.byGID[ci.GID]; r != nil {
		return r
	}
	return p.Default
}

// Admin reports whether the policy lets a caller administer: such callers
// may also use the connections lsad keeps in reserve.
func (p *Policy) Admin(ci secpkg.CallInfo) bool {
	r := p.rule(ci)
	return r != nil && r.Admin
}

// Authorize decides a request (engine.Config.Authorize).
func (p *Policy) Authorize(ci secpkg.CallInfo, a engine.Access) error {
	r := p.rule(ci)
	deny := func(why string, args ...any) error {
		return secpkg.Errorf(secpkg.StatusNotOwner, "lsad: policy: uid %d: "+why, append([]any{ci.UID}, args...)...)
	}
	if r == nil {
		return deny("no rule")
	}
	if a.Kind == engine.AccessAdminister {
		if !r.Admin {
			return deny("may not administer accounts")
		}
		return nil
	}
	// A registration a code admits (the code is checked by the LSA):
	// the caller's packages decide.
	if !matchAny(r.Packages, a.Package, true) {
		return deny("may not use %s", a.Package)
	}
	if a.Explicit && !r.ExplicitCredentials {
		return deny("may not present explicit credentials")
	}
	if a.Kind == engine.AccessAcquireCredentials {
		if a.Use&secpkg.CredentialInbound != 0 && !matchAny(r.Accept, a.Principal, false) {
			return deny("may not accept as %q", a.Principal)
		}
		if a.Use&secpkg.CredentialOutbound != 0 && !a.Explicit && !r.Initiate {
			return deny("may not use default credentials")
		}
	}
	return nil
}

func matchAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if p == "*" {
			return true
		}
		if fold {
			if strings.EqualFold(p, s) {
				return true
			}
			continue
		}
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}
