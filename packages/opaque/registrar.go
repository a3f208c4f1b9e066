package opaque

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/opensspi/sspi/secpkg"
)

// Registration of an OPAQUE account (RFC 9807 Section 5) is split so
// that the password never reaches the LSA:
//
//	client (sspi CLI)                       LSA (OPAQUE's LSA-mode half)
//	NewRegistration(password)  -- request -->  CreateRegistrationResponse
//	Registration.Finish        <-- response --
//	                           -- upload --->  FinishRegistration -> verifier
//
// The LSA call that carries the request and the upload, and the
// authorization of who may register which account, are the LSA's; the
// verifier FinishRegistration returns is what the account store keeps
// for the package (secpkg.Account.Verifier).

// ErrRegistrationRequired is what MakeVerifier returns unless
// PackageConfig.InsecureRegisterInLSA is set: an OPAQUE record is made by
// the client, so a password given to the LSA cannot make one. It carries
// SEC_E_UNSUPPORTED_FUNCTION; an LSA setting a password for every
// enabled package skips packages that answer it.
var ErrRegistrationRequired = &secpkg.Error{Status: secpkg.StatusUnsupportedFunction, Detail: "opaque: an OPAQUE record is made by registering from the client (sspi account register), not from a password given to the LSA"}

// Registrar is the LSA's side of a registration, implemented by the
// package's LSA-mode half: secpkg.Registrar, which the LSA's registration
// call (lsa.Registration) drives once it has authorized the caller.
// CreateRegistrationResponse answers a registration request token
// (RFC 9807 Section 5.2.2, with the KSF this LSA asks new records to
// use); FinishRegistration checks the client's upload token (the
// RegistrationRecord and the KSF it was made with) and returns the
// verifier to store for the account.
type Registrar = secpkg.Registrar

// CreateRegistrationResponse implements Registrar.
func (p *lsaPackage) CreateRegistrationResponse(ctx context.Context, domain, user string, request []byte) ([]byte, error) {
	if user == "" {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "opaque: registration without a user name")
	}
	_, body, err := parseRegistrationToken(request, tokenRegistrationRequest)
	if err != nil {
		return nil, err
	}
	req, err := ParseRegistrationRequest(body)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "%w", err)
	}
	setup, err := p.serverSetup(ctx)
	if err != nil {
		return nil, err
	}
	cid := p.credentialIdentifier(domain, user)
	resp, err := (&Server{setup: setup}).CreateRegistrationResponse(req, cid)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "%w", err)
	}
	out := appendKSF([]byte{tokenVersion, byte(tokenRegistrationResponse)}, p.cfg.KSF.orDefault())
	return append(out, resp.Bytes()...), nil
}

// FinishRegistration implements Registrar.
func (p *lsaPackage) FinishRegistration(ctx context.Context, domain, user string, upload []byte) ([]byte, error) {
	if user == "" {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "opaque: registration without a user name")
	}
	ksf, body, err := parseRegistrationToken(upload, tokenRegistrationUpload)
	if err != nil {
		return nil, err
	}
	if err := p.cfg.ksfAllowed(ksf); err != nil {
		return nil, secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "opaque: the record's KSF %v: %w", ksf, err)
	}
	rec, err := ParseRegistrationRecord(body)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "%w", err)
	}
	defer rec.wipe()
	setup, err := p.serverSetup(ctx)
	if err != nil {
		return nil, err
	}
	return p.storedRecord(setup, domain, user, ksf, rec), nil
}

func (p *lsaPackage) storedRecord(setup *ServerSetup, domain, user string, ksf KSF, rec *RegistrationRecord) []byte {
	return (&storedRecord{
		ksf:                  ksf.orDefault(),
		serverPublicKey:      setup.PublicKey(),
		credentialIdentifier: p.credentialIdentifier(domain, user),
		record:               rec,
	}).marshal()
}

// MakeVerifier implements secpkg.VerifierMaker. It refuses
// (ErrRegistrationRequired) unless PackageConfig.InsecureRegisterInLSA is
// set: then it runs both sides of a registration in the LSA, which sees
// the password.
func (p *lsaPackage) MakeVerifier(ctx context.Context, user, domain string, password []byte) ([]byte, error) {
	if !p.cfg.InsecureRegisterInLSA {
		return nil, ErrRegistrationRequired
	}
	setup, err := p.serverSetup(ctx)
	if err != nil {
		return nil, err
	}
	ksf := p.cfg.KSF.orDefault()
	c := NewClient(&Config{Rand: p.rand(), KSF: ksf})
	req, err := c.CreateRegistrationRequest(password)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "%w", err)
	}
	cid := p.credentialIdentifier(domain, user)
	resp, err := (&Server{setup: setup}).CreateRegistrationResponse(req, cid)
	if err != nil {
		c.wipe()
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "%w", err)
	}
	rec, exportKey, err := c.finalizeRegistration(resp, func(msg []byte) ([]byte, error) { return p.stretch(ctx, ksf, msg) })
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusOf(err), "%w", err)
	}
	clear(exportKey)
	defer rec.wipe()
	return p.storedRecord(setup, domain, user, ksf, rec), nil
}

// LogonUser is SpLogonUser: an interactive logon whose logon session then
// holds the password for default outbound credentials. The password is
// checked by running a login against the account's OPAQUE record inside
// the LSA (one KSF run); an account the store does not know, or one
// without a usable record, is refused exactly as a wrong password is, after
// the same work against the dummy record. Only a LogonNewCredentials
// logon ("runas /netonly") keeps an identity unchecked, for outbound use.
func (p *lsaPackage) LogonUser(ctx context.Context, req *secpkg.LogonRequest) (*secpkg.LogonResult, error) {
	id := req.Identity
	if id.User == "" {
		return nil, secpkg.Errorf(secpkg.StatusUnknownCredentials, "opaque: logon without a user name")
	}
	if checkName("user", []byte(id.User)) != nil || checkName("domain", []byte(id.Domain)) != nil {
		return nil, secpkg.Errorf(secpkg.StatusUnknownCredentials, "opaque: user or domain name not acceptable")
	}
	user, domain := id.User, id.Domain
	switch req.Type {
	case secpkg.LogonNewCredentials:
	case secpkg.LogonInteractive:
		acct, reason, err := p.checkLocally(ctx, id.Domain, id.User, id.Password)
		if err != nil {
			return nil, err
		}
		if reason != "" {
			p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: accountName(id.Domain, id.User), Reason: reason, Status: secpkg.StatusLogonDenied})
			return nil, errLogonFailure
		}
		user, domain = acct.User, acct.Domain
	default:
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "opaque: logon type %v", req.Type)
	}
	logon, err := p.lsa.CreateLogonSession(ctx, user, domain)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "opaque: creating logon session: %w", err)
	}
	cred := packLogonCredential(user, domain, id.Password)
	defer clear(cred)
	if err := p.lsa.AddCredential(ctx, logon, logonCredentialKey, cred); err != nil {
		_ = p.lsa.DeleteLogonSession(ctx, logon)
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "opaque: storing credential: %w", err)
	}
	return &secpkg.LogonResult{LogonID: logon, User: user, Domain: domain}, nil
}

// checkLocally runs a login for domain\user with password against its
// record, both roles in the LSA, and returns the account, or why it failed.
// As an acceptor does, it counts the attempt as failed first (CheckLogon,
// which also gives the record), runs the login outside the account's
// lock (the KSF is slow), and records the success only if the login
// succeeds; an account without a usable record gets the same work against
// the dummy record.
func (p *lsaPackage) checkLocally(ctx context.Context, domain, user string, password []byte) (*secpkg.Account, string, error) {
	setup, err := p.serverSetup(ctx)
	if err != nil {
		return nil, "", err
	}
	var stored []byte
	_, err = p.lsa.CheckLogon(ctx, domain, user, func(verifier []byte) bool {
		stored = append([]byte(nil), verifier...)
		return false // counted as failed until the login succeeds
	})
	reason, refused := secpkg.LogonFailureReason(err)
	if err != nil && !refused {
		return nil, "", secpkg.Errorf(secpkg.StatusLogonDenied, "opaque: %w", err)
	}
	if errors.Is(err, secpkg.ErrWrongPassword) {
		reason = ""
	}
	defer clear(stored)
	sr, perr := parseStoredRecord(stored)
	switch {
	case len(stored) == 0:
		if reason == "" {
			reason = "account has no OPAQUE record"
		}
	case perr != nil:
		reason = "malformed OPAQUE record"
	case !bytes.Equal(sr.serverPublicKey, setup.publicKey):
		reason = "record made for another server setup"
	case p.cfg.ksfAllowed(sr.ksf) != nil:
		reason = "record's KSF refused by policy"
	}
	if reason != "" {
		// The same work against the dummy record.
		sr, _ = parseStoredRecord(p.dummy)
		sr.credentialIdentifier = p.credentialIdentifier(domain, user)
		sr.ksf = p.cfg.KSF.orDefault()
	}
	defer sr.record.wipe()
	context := []byte(contextLabel + " LogonUser")
	c := NewClient(&Config{Rand: p.rand()})
	ke1, err := c.GenerateKE1(password)
	if err != nil {
		return nil, "", secpkg.Errorf(secpkg.StatusInternalError, "%w", err)
	}
	login, ke2, err := (&Server{cfg: Config{Rand: p.rand()}, setup: setup}).generateKE2(ke1, sr.record, sr.credentialIdentifier, context)
	if err != nil {
		c.wipe()
		return nil, "", secpkg.Errorf(secpkg.StatusInternalError, "%w", err)
	}
	ke3, key, exportKey, err := c.generateKE3(ke2, loginInputs{
		context: context,
		stretch: func(msg []byte) ([]byte, error) { return p.stretch(ctx, sr.ksf, msg) },
	})
	clear(key)
	clear(exportKey)
	if errors.Is(err, ErrEnvelopeRecovery) || errors.Is(err, ErrServerAuthentication) {
		login.wipe()
		if reason == "" {
			reason = "wrong password"
		}
		return nil, reason, nil
	}
	if err != nil {
		login.wipe()
		return nil, "", secpkg.Errorf(secpkg.StatusOf(err), "%w", err)
	}
	key, err = login.ServerFinish(ke3)
	clear(key)
	if err != nil {
		return nil, "", secpkg.Errorf(secpkg.StatusInternalError, "opaque: local login: %w", err)
	}
	if reason != "" {
		return nil, reason, nil
	}
	acct, err := p.lsa.CheckLogon(ctx, domain, user, func(verifier []byte) bool {
		return verifier != nil && bytes.Equal(verifier, stored)
	})
	if reason, ok := secpkg.LogonFailureReason(err); ok {
		return nil, reason, nil
	}
	if err != nil {
		return nil, "", secpkg.Errorf(secpkg.StatusLogonDenied, "opaque: %w", err)
	}
	return acct, "", nil
}

// RegistrationOptions configures the client's side of a registration.
// The zero value uses the KSF the LSA asks for, refuses the identity KSF
// and Argon2id above DefaultMaxKSFMemory, and crypto/rand.
type RegistrationOptions struct {
	// KSF, if not zero, is used instead of the one the LSA asks for
	// (which must still accept it).
	KSF KSF
	// MaxKSFMemory is the largest Argon2id memory, in KiB, this client
	// spends; 0 means DefaultMaxKSFMemory.
	MaxKSFMemory uint32
	// InsecureAllowIdentityKSF allows the identity KSF. Tests only.
	InsecureAllowIdentityKSF bool
	// Rand is the randomness source; nil means crypto/rand.
	Rand io.Reader
}

// Registration is the client's side of an OPAQUE registration for the
// security package: it runs where the password is typed (the sspi CLI),
// so that the LSA never sees the password. It is used once.
type Registration struct {
	c    *Client
	opts RegistrationOptions
}

// NewRegistration starts a registration of password and returns the
// request token for the LSA's CreateRegistrationResponse.
func NewRegistration(password []byte, opts *RegistrationOptions) (*Registration, []byte, error) {
	r := &Registration{}
	if opts != nil {
		r.opts = *opts
	}
	r.c = NewClient(&Config{Rand: r.opts.Rand})
	req, err := r.c.CreateRegistrationRequest(password)
	if err != nil {
		return nil, nil, err
	}
	return r, append([]byte{tokenVersion, byte(tokenRegistrationRequest)}, req.Bytes()...), nil
}

// Finish takes the LSA's response token, runs the KSF and returns the
// upload token for the LSA's FinishRegistration. It takes as long and as
// much memory as the KSF's parameters say.
func (r *Registration) Finish(response []byte) ([]byte, error) {
	ksf, body, err := parseRegistrationToken(response, tokenRegistrationResponse)
	if err != nil {
		r.c.wipe()
		return nil, err
	}
	if r.opts.KSF != (KSF{}) {
		ksf = r.opts.KSF
	}
	policy := PackageConfig{MaxKSFMemory: r.opts.MaxKSFMemory, InsecureAllowIdentityKSF: r.opts.InsecureAllowIdentityKSF}
	if err := policy.ksfAllowed(ksf); err != nil {
		r.c.wipe()
		return nil, secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "opaque: KSF %v: %w", ksf, err)
	}
	resp, err := ParseRegistrationResponse(body)
	if err != nil {
		r.c.wipe()
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "%w", err)
	}
	rec, exportKey, err := r.c.finalizeRegistration(resp, ksf.Stretch)
	if err != nil {
		return nil, err
	}
	clear(exportKey)
	defer rec.wipe()
	out := appendKSF([]byte{tokenVersion, byte(tokenRegistrationUpload)}, ksf.orDefault())
	return append(out, rec.Bytes()...), nil
}
