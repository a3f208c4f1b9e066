package engine

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/secpkg"
)

// packageFunctions are the LSA support functions of one package
// (LSA_SECPKG_FUNCTION_TABLE).
type packageFunctions struct {
	e   *Engine
	pkg *loadedPackage
}

var (
	_ secpkg.LSAFunctions        = (*packageFunctions)(nil)
	_ secpkg.NetworkLogonCreator = (*packageFunctions)(nil)
)

func (f *packageFunctions) caller(ctx context.Context) secpkg.CallInfo {
	ci, _ := secpkg.CallInfoFrom(ctx)
	return ci
}

func (f *packageFunctions) CreateLogonSession(ctx context.Context, user, domain string) (secpkg.LogonID, error) {
	return f.createLogonSession(ctx, user, domain, false)
}

// CreateNetworkLogonSession implements secpkg.NetworkLogonCreator.
func (f *packageFunctions) CreateNetworkLogonSession(ctx context.Context, user, domain string) (secpkg.LogonID, error) {
	return f.createLogonSession(ctx, user, domain, true)
}

func (f *packageFunctions) createLogonSession(ctx context.Context, user, domain string, network bool) (secpkg.LogonID, error) {
	ci := f.caller(ctx)
	id, ended := f.e.logons.create(ci.UID, user, domain, f.pkg.name, network, f.e.now())
	f.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonSession, Principal: principal(domain, user)})
	if ended > 0 {
		f.e.log.Debug("oldest logon sessions ended", "uid", ci.UID, "count", ended, "limit", f.e.cfg.MaxLogonSessionsPerCaller)
		f.e.logonsEnded(ctx)
	}
	return id, nil
}

func (f *packageFunctions) DeleteLogonSession(ctx context.Context, id secpkg.LogonID) error {
	if !f.e.logons.remove(id, f.caller(ctx).UID, f.e.now()) {
		return secpkg.ErrNoLogonSession
	}
	f.e.logonsEnded(ctx)
	return nil
}

func (f *packageFunctions) AddCredential(ctx context.Context, id secpkg.LogonID, key string, cred []byte) error {
	return f.e.logons.addCredential(id, f.caller(ctx).UID, f.pkg.id, key, cred, f.e.now())
}

func (f *packageFunctions) GetCredential(ctx context.Context, id secpkg.LogonID, key string) ([]byte, error) {
	return f.e.logons.credential(id, f.caller(ctx).UID, f.pkg.id, key, f.e.now())
}

func (f *packageFunctions) DeleteCredential(ctx context.Context, id secpkg.LogonID, key string) error {
	return f.e.logons.deleteCredential(id, f.caller(ctx).UID, f.pkg.id, key, f.e.now())
}

// localDomain maps the names a client may use for this machine's own
// accounts ("", the NetBIOS domain, the computer name, "." ) to the
// domain the store keeps them under.
func (f *packageFunctions) localDomain(domain string) string {
	p := f.e.cfg.Parameters
	switch {
	case domain == "", domain == ".",
		strings.EqualFold(domain, p.MachineName),
		strings.EqualFold(domain, p.DNSMachineName),
		strings.EqualFold(domain, p.DNSDomainName) && p.DNSDomainName != "":
		return p.DomainName
	}
	return domain
}

func (f *packageFunctions) CheckLogon(ctx context.Context, domain, user string, check func(verifier []byte) bool) (*secpkg.Account, error) {
	// A password check is where a caller's rate of guesses is limited.
	if ci := f.caller(ctx); !f.e.limiter.allow(ci.UID, f.e.now()) {
		f.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: principal(domain, user), Reason: "password check rate limit", Status: secpkg.StatusLogonDenied})
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "lsa: too many password checks by uid %d", ci.UID)
	}
	store := f.e.cfg.Accounts
	if store == nil {
		check(nil)
		return nil, secpkg.ErrNoSuchAccount
	}
	out, err := store.Logon(ctx, accounts.LogonAttempt{
		Domain:  f.localDomain(domain),
		Name:    user,
		Package: f.pkg.name,
		Check:   check,
		Now:     f.e.now(),
	})
	if err != nil {
		// The attempt may have been checked, but its outcome is not
		// recorded: granting it could let guesses go uncounted. A
		// refusal, and a line for the administrator (never a secret:
		// the store's errors name no verifier).
		f.e.log.LogAttrs(ctx, slog.LevelError, "account store failed; logon refused",
			slog.String("package", f.pkg.name),
			slog.String("principal", sanitize(principal(domain, user))),
			slog.String("err", sanitize(err.Error())))
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "lsa: the account store could not record the logon attempt: %w", err)
	}
	if out.LockedNow {
		f.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLockout, Principal: principal(out.Account.Domain, out.Account.Name), Reason: "too many failures", Status: secpkg.StatusLogonDenied})
	}
	switch out.Result {
	case accounts.LogonGranted:
		return &secpkg.Account{User: out.Account.Name, Domain: out.Account.Domain, Groups: out.Account.Groups}, nil
	case accounts.LogonNoSuchAccount:
		return nil, secpkg.ErrNoSuchAccount
	case accounts.LogonNoVerifier:
		return nil, secpkg.ErrNoVerifier
	case accounts.LogonWrongPassword:
		return nil, secpkg.ErrWrongPassword
	case accounts.LogonDisabled:
		return nil, secpkg.ErrAccountDisabled
	case accounts.LogonLockedOut:
		return nil, secpkg.ErrLockedOut
	}
	return nil, secpkg.Errorf(secpkg.StatusInternalError, "lsa: account store decided %v", out.Result)
}

func (f *packageFunctions) GetCallInfo(ctx context.Context) secpkg.CallInfo { return f.caller(ctx) }

func (f *packageFunctions) Audit(ctx context.Context, ev secpkg.AuditEvent) {
	ci := f.caller(ctx)
	attrs := []slog.Attr{
		slog.String("event", ev.Kind.String()),
		slog.String("package", f.pkg.name),
		slog.String("principal", sanitize(ev.Principal)),
		slog.Uint64("uid", uint64(ci.UID)),
		slog.Int64("pid", int64(ci.PID)),
	}
	if ev.Reason != "" {
		attrs = append(attrs, slog.String("reason", sanitize(ev.Reason)))
	}
	if ev.Status != 0 {
		attrs = append(attrs, slog.String("status", ev.Status.String()))
	}
	f.e.log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}

// sanitize keeps attacker-supplied names from forging log lines.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func principal(domain, user string) string {
	if domain == "" {
		return user
	}
	return domain + `\` + user
}

func (f *packageFunctions) CheckReplay(ctx context.Context, key []byte, expires time.Time) error {
	return f.e.replay.check(f.pkg.id, f.caller(ctx).UID, key, expires, f.e.now())
}

func (f *packageFunctions) LocatePackage(name string) (secpkg.LSAPackage, bool) {
	p, err := f.e.pkg(name)
	if err != nil {
		return nil, false
	}
	return p.lsa, true
}

func (f *packageFunctions) Now() time.Time       { return f.e.now() }
func (f *packageFunctions) Rand() io.Reader      { return f.e.cfg.Rand }
func (f *packageFunctions) Logger() *slog.Logger { return f.e.log.With("package", f.pkg.name) }
