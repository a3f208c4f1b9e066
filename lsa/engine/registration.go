package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// Registration of accounts with packages whose verifier the client makes
// (lsa.Registration, secpkg.Registrar), the registration codes that admit
// it (lsa.Admin.CreateRegistrationCode), and the support functions such
// packages use: their secrets (secpkg.SecretStore) and the LSA's rule for
// account names (secpkg.AccountKeyer).

// Registration codes.
const (
	// DefaultRegistrationCodeLifetime is how long a registration code
	// lasts unless its request says otherwise.
	DefaultRegistrationCodeLifetime = 24 * time.Hour
	// MaxRegistrationCodeLifetime is the longest a code may last.
	MaxRegistrationCodeLifetime = 7 * 24 * time.Hour

	// A code is codeSelectorSize random bytes that find it in the store
	// and codeSecretSize random bytes of which the store keeps the
	// SHA-256, written in base32 (RFC 4648) in groups of four.
	codeSelectorSize = 5
	codeSecretSize   = 15
)

var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// formatCode writes selector||secret as the user sees it:
// "ABCD-EFGH-…", 32 characters in 8 groups.
func formatCode(b []byte) string {
	s := codeEncoding.EncodeToString(b)
	var out strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			out.WriteByte('-')
		}
		out.WriteString(s[i:min(i+4, len(s))])
	}
	return out.String()
}

// parseCode reads a code as formatCode writes it, without regard to case,
// dashes or spaces, into its selector and the hash of its secret.
func parseCode(code string) (selector, hash []byte, ok bool) {
	s := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(s) != codeEncoding.EncodedLen(codeSelectorSize+codeSecretSize) {
		return nil, nil, false
	}
	b, err := codeEncoding.DecodeString(s)
	if err != nil || len(b) != codeSelectorSize+codeSecretSize {
		return nil, nil, false
	}
	h := sha256.Sum256(b[codeSelectorSize:])
	clear(b[codeSelectorSize:])
	return b[:codeSelectorSize], h[:], true
}

// errInvalidCode is the one refusal of a registration code that does not
// admit the registration asked for: unknown, mistyped, used, expired, or
// made for another account or package. The reason goes to the audit log
// only, so that a code's holder learns nothing about accounts.
var errInvalidCode = secpkg.Errorf(secpkg.StatusLogonDenied, "lsa: the registration code is not valid for this account")

// registration is an authorized registration between its two steps. It
// belongs to one connection (conn.regs).
type registration struct {
	pkg          *loadedPackage
	reg          secpkg.Registrar
	domain, user string
	code         *accounts.RegistrationCode // nil: by an administrator
	uid          uint32
	deadline     time.Time
}

// registrar returns the enabled package name and its Registrar.
func (e *Engine) registrar(name string) (*loadedPackage, secpkg.Registrar, error) {
	p, err := e.pkg(name)
	if err != nil {
		return nil, nil, err
	}
	r, ok := p.lsa.(secpkg.Registrar)
	if !ok {
		return nil, nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s takes no registration (the LSA makes its verifiers from a password: sspi account add or passwd)", p.name)
	}
	return p, r, nil
}

// logonDomain is the domain an account a client names is stored under:
// the mapping of the LSA's logons (packageFunctions.localDomain).
func (e *Engine) logonDomain(domain string) string {
	return (&packageFunctions{e: e}).localDomain(domain)
}

func (c *conn) BeginRegistration(ctx context.Context, req *lsa.BeginRegistrationRequest) (*lsa.BeginRegistrationReply, error) {
	pctx, err := c.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	e := c.e
	p, reg, err := e.registrar(req.Package)
	if err != nil {
		return nil, err
	}
	if req.User == "" {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: registration without a user name")
	}
	if len(req.Token) > e.cfg.MaxTokenSize {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: registration token of %d bytes exceeds %d", len(req.Token), e.cfg.MaxTokenSize)
	}
	store := e.cfg.Accounts
	if store == nil {
		return nil, errNoStore
	}
	now := e.now()
	domain := e.logonDomain(req.Domain)
	who := principal(domain, req.User)
	// RFC 9807 Section 10.9: the registration flow can tell a registered
	// account from another, so it is authorized before anything else and
	// rate-limited as password checks are.
	if !e.limiter.allow(c.caller.UID, now) {
		e.auditRegistration(pctx, "registration-refused", p.name, who, "registration rate limit")
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "lsa: too many registration attempts by uid %d", c.caller.UID)
	}
	var code *accounts.RegistrationCode
	if req.Code == "" {
		if err := e.authorize(c.caller, Access{Kind: AccessAdminister, Package: p.name, Principal: who}); err != nil {
			return nil, err
		}
		if _, err := store.Lookup(ctx, domain, req.User); err != nil {
			return nil, notFound(err, domain, req.User)
		}
	} else {
		if err := e.authorize(c.caller, Access{Kind: AccessRegister, Package: p.name, Principal: who}); err != nil {
			return nil, err
		}
		sel, hash, ok := parseCode(req.Code)
		if !ok {
			e.auditRegistration(pctx, "registration-refused", p.name, who, "malformed registration code")
			return nil, errInvalidCode
		}
		code = &accounts.RegistrationCode{Domain: domain, Name: req.User, Package: p.name, Selector: sel, Hash: hash}
		if err := store.CheckRegistrationCode(ctx, code, now); err != nil {
			return nil, e.codeRefused(pctx, p.name, who, err)
		}
	}
	if err := e.quotas.takeHandle(c.caller.UID); err != nil {
		return nil, err
	}
	resp, err := reg.CreateRegistrationResponse(pctx, domain, req.User, req.Token)
	if err != nil {
		e.quotas.releaseHandle(c.caller.UID)
		return nil, err
	}
	r := &registration{pkg: p, reg: reg, domain: domain, user: req.User, code: code, uid: c.caller.UID, deadline: now.Add(e.cfg.HandshakeTimeout)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		e.quotas.releaseHandle(c.caller.UID)
		return nil, errClosed
	}
	h := c.newHandleLocked()
	for c.regs[h] != nil {
		h = c.newHandleLocked()
	}
	if c.regs == nil {
		c.regs = make(map[lsa.SecHandle]*registration)
	}
	c.regs[h] = r
	c.mu.Unlock()
	return &lsa.BeginRegistrationReply{Registration: h, Token: resp, Expiry: r.deadline}, nil
}

func (c *conn) FinishRegistration(ctx context.Context, req *lsa.FinishRegistrationRequest) error {
	pctx, err := c.callCtx(ctx)
	if err != nil {
		return err
	}
	if err := c.checkEpoch(req.Registration); err != nil {
		return err
	}
	c.mu.Lock()
	r := c.regs[req.Registration]
	delete(c.regs, req.Registration)
	c.mu.Unlock()
	if r == nil {
		return errInvalidHandle(req.Registration)
	}
	e := c.e
	defer e.quotas.releaseHandle(r.uid)
	now := e.now()
	if !now.Before(r.deadline) {
		return secpkg.Errorf(secpkg.StatusContextExpired, "lsa: the registration expired; begin it again")
	}
	if len(req.Token) > e.cfg.MaxTokenSize {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: registration token of %d bytes exceeds %d", len(req.Token), e.cfg.MaxTokenSize)
	}
	v, err := r.reg.FinishRegistration(pctx, r.domain, r.user, req.Token)
	if err != nil {
		return err
	}
	defer clear(v)
	store := e.cfg.Accounts
	who := principal(r.domain, r.user)
	how := "admin"
	if r.code != nil {
		how = "registration code"
		if err := store.RedeemRegistrationCode(ctx, r.code, v, now); err != nil {
			return e.codeRefused(pctx, r.pkg.name, who, err)
		}
	} else if err := store.SetVerifier(ctx, r.domain, r.user, r.pkg.name, v); err != nil {
		return notFound(err, r.domain, r.user)
	}
	e.log.LogAttrs(pctx, slog.LevelInfo, "audit", slog.String("event", "account-registered"), slog.String("package", r.pkg.name),
		slog.String("principal", sanitize(who)), slog.Uint64("uid", uint64(c.caller.UID)), slog.String("by", how))
	return nil
}

// codeRefused audits a code's refusal and returns the one error the
// caller sees (or the store's failure).
func (e *Engine) codeRefused(ctx context.Context, pkg, who string, err error) error {
	if !errors.Is(err, accounts.ErrInvalidCode) {
		return secpkg.Errorf(secpkg.StatusInternalError, "lsa: registration code: %w", err)
	}
	reason := strings.TrimPrefix(err.Error(), accounts.ErrInvalidCode.Error()+": ")
	e.auditRegistration(ctx, "registration-refused", pkg, who, "registration code "+reason)
	return errInvalidCode
}

func (e *Engine) auditRegistration(ctx context.Context, event, pkg, who, reason string) {
	ci, _ := secpkg.CallInfoFrom(ctx)
	e.log.LogAttrs(ctx, slog.LevelInfo, "audit", slog.String("event", event), slog.String("package", pkg),
		slog.String("principal", sanitize(who)), slog.Uint64("uid", uint64(ci.UID)), slog.String("reason", reason),
		slog.String("status", secpkg.StatusLogonDenied.String()))
}

// sweepRegistrations forgets the connection's registrations past their
// deadline.
func (c *conn) sweepRegistrations(now time.Time) {
	var gone []*registration
	c.mu.Lock()
	for h, r := range c.regs {
		if !now.Before(r.deadline) {
			gone = append(gone, r)
			delete(c.regs, h)
		}
	}
	c.mu.Unlock()
	for _, r := range gone {
		c.e.quotas.releaseHandle(r.uid)
	}
}

// dropRegistrations gives back the quota of registrations a closed
// connection held.
func (c *conn) dropRegistrations(regs map[lsa.SecHandle]*registration) {
	for _, r := range regs {
		c.e.quotas.releaseHandle(r.uid)
	}
}

func (c *conn) CreateRegistrationCode(ctx context.Context, req *lsa.RegistrationCodeRequest) (*lsa.RegistrationCodeReply, error) {
	store, err := c.admin(ctx)
	if err != nil {
		return nil, err
	}
	e := c.e
	p, _, err := e.registrar(req.Package)
	if err != nil {
		return nil, err
	}
	life := req.Lifetime
	switch {
	case life == 0:
		life = DefaultRegistrationCodeLifetime
	case life < 0 || life > MaxRegistrationCodeLifetime:
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: a registration code lasts up to %v", MaxRegistrationCodeLifetime)
	}
	domain := e.accountDomain(req.Domain)
	now := e.now()
	expires := now.Add(life)
	b := make([]byte, codeSelectorSize+codeSecretSize)
	defer clear(b)
	for try := 0; ; try++ {
		if _, err := io.ReadFull(e.cfg.Rand, b); err != nil {
			return nil, secpkg.Errorf(secpkg.StatusInternalError, "lsa: randomness: %w", err)
		}
		h := sha256.Sum256(b[codeSelectorSize:])
		err = store.AddRegistrationCode(ctx, &accounts.RegistrationCode{Domain: domain, Name: req.User, Package: p.name,
			Selector: append([]byte(nil), b[:codeSelectorSize]...), Hash: h[:], Expires: expires}, now)
		if errors.Is(err, accounts.ErrExists) && try < 3 {
			continue // another code has this selector: draw again
		}
		if err != nil {
			return nil, notFound(err, domain, req.User)
		}
		break
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "audit", slog.String("event", "registration-code-created"), slog.String("package", p.name),
		slog.String("principal", sanitize(principal(domain, req.User))), slog.Uint64("uid", uint64(c.caller.UID)), slog.Time("expires", expires))
	return &lsa.RegistrationCodeReply{Code: formatCode(b), Expires: expires}, nil
}

// Support functions (LSA_SECPKG_FUNCTION_TABLE beyond secpkg.LSAFunctions).

var (
	_ secpkg.SecretStore  = (*packageFunctions)(nil)
	_ secpkg.AccountKeyer = (*packageFunctions)(nil)
)

// AccountKey implements secpkg.AccountKeyer with the rule of CheckLogon:
// local names mapped to the local domain, folded as the store compares.
func (f *packageFunctions) AccountKey(domain, user string) (string, string) {
	return accounts.NameKey(f.localDomain(domain)), accounts.NameKey(user)
}

// Secret implements secpkg.SecretStore on the account store, under the
// package's name.
func (f *packageFunctions) Secret(ctx context.Context, name string) ([]byte, error) {
	store := f.e.cfg.Accounts
	if store == nil {
		return nil, errNoSecretStore
	}
	b, err := store.Secret(ctx, f.pkg.name, name)
	if errors.Is(err, accounts.ErrNotFound) {
		return nil, &secretError{name, fs.ErrNotExist}
	}
	return b, err
}

// CreateSecret implements secpkg.SecretStore on the account store.
func (f *packageFunctions) CreateSecret(ctx context.Context, name string, secret []byte) error {
	store := f.e.cfg.Accounts
	if store == nil {
		return errNoSecretStore
	}
	err := store.CreateSecret(ctx, f.pkg.name, name, secret)
	if errors.Is(err, accounts.ErrExists) {
		return &secretError{name, fs.ErrExist}
	}
	if err == nil {
		f.e.log.Info("package secret created", "package", f.pkg.name, "name", sanitize(name))
	}
	return err
}

var errNoSecretStore = secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: no account store to keep package secrets in")

// secretError names a secret (never its value) and wraps fs.ErrNotExist
// or fs.ErrExist.
type secretError struct {
	name string
	err  error
}

func (e *secretError) Error() string {
	return "lsa: package secret " + sanitize(e.name) + ": " + e.err.Error()
}
func (e *secretError) Unwrap() error { return e.err }

// registrations counts the connection's registrations, for Stats.
func (c *conn) registrations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.regs)
}

var _ lsa.Registration = (*conn)(nil)
