package kerberos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/secpkg"
)

// credential is a credentials handle in the LSA: an initiator's
// credentials, an acceptor's, or both.
type credential struct {
	use  secpkg.CredentialUse
	name string
	out  *initiatorCreds
	in   *acceptorCreds
}

// credSource says where an initiator's TGT comes from, in the order of
// preference when the caller names none.
type credSource uint8

const (
	fromLogonSession credSource = iota + 1 // the caller's logon session (LogonUser, or delegated)
	fromPassword                           // explicit credentials: the AS exchange with the password
	fromKeytab                             // a client keytab: the AS exchange with its keys
	fromCCache                             // an MIT credentials cache
)

// String names the source.
func (s credSource) String() string {
	switch s {
	case fromLogonSession:
		return "logon session"
	case fromPassword:
		return "password"
	case fromKeytab:
		return "client keytab"
	case fromCCache:
		return "credentials cache"
	}
	return "unknown"
}

// initiatorCreds are outbound credentials.
type initiatorCreds struct {
	source credSource
	client krb5.Principal
	// logon is the logon session of fromLogonSession credentials; its
	// TGT is read from the LSA on every use, so a logoff ends them.
	logon secpkg.LogonID

	// The handle's own TGT and tickets (every source but a logon
	// session), and what renews the TGT when it expires.
	mu       sync.Mutex
	own      *ticketCache
	password []byte
	keytab   *krb5.Keytab
}

// acceptorCreds are inbound credentials: the keys of the services the
// handle accepts as.
type acceptorCreds struct {
	keytab *krb5.Keytab
	// service, if set, is the only principal accepted (the name the
	// caller gave, which lsad's policy allowed it to accept as).
	service *krb5.Principal
}

func (c *credential) wipe() {
	if o := c.out; o != nil {
		o.mu.Lock()
		clear(o.password)
		o.password = nil
		o.keytab = nil
		if o.own != nil {
			if tgt := o.own.TGT(); tgt != nil {
				destroyCredential(tgt)
			}
			o.own.wipe()
		}
		o.mu.Unlock()
	}
	if c.in != nil {
		c.in.keytab = nil
	}
}

// AcquireCredentialsHandle is SpAcquireCredentialsHandle. Outbound
// credentials come, in this order, from explicit credentials
// (req.Identity: a password, for the AS exchange; or packed credentials,
// a keytab or an MIT credentials cache, given as bytes or as a file the
// LSA opens with the caller's rights), the caller's logon session
// (req.LogonID, which the LSA has checked the caller owns), and, for a
// caller in the LSA's own process only, the client keytab and then the
// MIT credentials cache of the process's environment. The AS exchange is
// made at the first InitializeSecurityContext, so that a wrong password
// shows there (SEC_E_LOGON_DENIED), as on Windows. Inbound credentials
// hold the LSA's keytabs' keys (or a keytab the caller passed), for
// req.Principal only if it is given.
func (p *lsaPackage) AcquireCredentialsHandle(ctx context.Context, req *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	kdc, err := p.krb()
	if err != nil {
		return nil, err
	}
	conf := kdc.Config
	c := &credential{use: req.Use & secpkg.CredentialBoth}
	if c.use == 0 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "kerberos: credential use %v", req.Use)
	}
	var expiry time.Time
	if c.use&secpkg.CredentialOutbound != 0 {
		if c.out, err = p.initiatorCredentials(ctx, conf, req); err != nil {
			return nil, err
		}
		c.name = c.out.client.String()
		if tgt := c.out.tgt(); tgt != nil {
			expiry = tgt.EndTime
		}
	}
	if c.use&secpkg.CredentialInbound != 0 {
		if c.in, err = p.acceptorCredentials(ctx, conf, req); err != nil {
			c.wipe()
			return nil, err
		}
		if c.name == "" && c.in.service != nil {
			c.name = c.in.service.String()
		}
	}
	h := p.creds.Add(c)
	return &secpkg.Credentials{Handle: h, Name: c.name, Expiry: expiry}, nil
}

// tgt returns the TGT the credentials hold now, if any (not for a logon
// session's, which is read from the LSA).
func (o *initiatorCreds) tgt() *krb5.Credential {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.own == nil {
		return nil
	}
	return o.own.TGT()
}

func (p *lsaPackage) initiatorCredentials(ctx context.Context, conf *krb5.Config, req *secpkg.CredentialsRequest) (*initiatorCreds, error) {
	max := p.cfg.maxCachedTickets()
	if id := req.Identity; id != nil && id.Packed != nil {
		return p.packedInitiator(ctx, conf, id, req.Principal, max)
	}
	if id := req.Identity; id != nil {
		client, err := clientPrincipal(conf, id.User, id.Domain)
		if err != nil {
			return nil, err
		}
		if len(id.Password) == 0 {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: explicit credentials for %v without a password", client)
		}
		return &initiatorCreds{source: fromPassword, client: client, own: newTicketCache(max), password: append([]byte(nil), id.Password...)}, nil
	}
	if req.LogonID != 0 {
		blob, err := p.lsa.GetCredential(ctx, req.LogonID, credKeyTGT)
		if errors.Is(err, secpkg.ErrNoCredential) {
			// A NewCredentials logon: its TGT comes at first use.
			if pw, perr := p.lsa.GetCredential(ctx, req.LogonID, credKeyPassword); perr == nil {
				client, _, uerr := unpackPassword(conf, pw)
				clear(pw)
				if uerr != nil {
					return nil, uerr
				}
				return &initiatorCreds{source: fromLogonSession, client: client, logon: req.LogonID}, nil
			}
		}
		switch {
		case err == nil:
			cache, err := p.sessions.cache(req.LogonID, blob)
			if err != nil {
				return nil, err
			}
			tgt := cache.TGT()
			if req.Principal != "" {
				want, err := clientPrincipal(conf, req.Principal, "")
				if err != nil || !want.Equal(tgt.Client) {
					return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the logon session is %v's, not %q's", tgt.Client, req.Principal)
				}
			}
			return &initiatorCreds{source: fromLogonSession, client: tgt.Client, logon: req.LogonID}, nil
		case !errors.Is(err, secpkg.ErrNoCredential) && !errors.Is(err, secpkg.ErrNoLogonSession):
			return nil, err
		}
	}
	// The process's own credentials: only a caller in the LSA's process
	// may use what the LSA's environment names (lsad's callers pass
	// explicit credentials or log on).
	if ci := p.lsa.GetCallInfo(ctx); !ci.InProcess {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: no credentials: log on first (LogonUser), or pass explicit credentials")
	}
	if o, err := p.processKeytab(conf, req.Principal, max); o != nil || err != nil {
		return o, err
	}
	if o, err := p.processCCache(conf, req.Principal, max); o != nil || err != nil {
		return o, err
	}
	return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: no credentials: no logon session with a TGT, no explicit credentials, no client keytab and no credentials cache")
}

// packedData returns the bytes of packed credentials: as given, or read
// from the file they name with the caller's rights
// (secpkg.CallerFileReader), never the LSA's own.
func (p *lsaPackage) packedData(ctx context.Context, pc *secpkg.PackedCredentials) (data []byte, keytab bool, err error) {
	switch pc.Type {
	case secpkg.PackedKeytab, secpkg.PackedCCache:
		return append([]byte(nil), pc.Data...), pc.Type == secpkg.PackedKeytab, nil
	case secpkg.PackedKeytabFile, secpkg.PackedCCacheFile:
		r, ok := p.lsa.(secpkg.CallerFileReader)
		if !ok {
			return nil, false, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: this LSA opens no file for its callers: pass the file's contents (%s)", map[bool]secpkg.PackedCredentialType{true: secpkg.PackedKeytab, false: secpkg.PackedCCache}[pc.Type == secpkg.PackedKeytabFile])
		}
		b, err := r.ReadCallerFile(ctx, filePath(string(pc.Data)), maxKeytabFile)
		if err != nil {
			return nil, false, err
		}
		return b, pc.Type == secpkg.PackedKeytabFile, nil
	}
	return nil, false, secpkg.Errorf(secpkg.StatusUnknownCredentials, "kerberos: packed credentials of type %q", pc.Type)
}

// packedInitiator returns outbound credentials from a keytab (the AS
// exchange with its keys) or a credentials cache (its TGT) the caller
// passed. The principal is the identity's user, else principal, else the
// keytab's first or the cache's own.
func (p *lsaPackage) packedInitiator(ctx context.Context, conf *krb5.Config, id *secpkg.AuthIdentity, principal string, max int) (*initiatorCreds, error) {
	b, isKeytab, err := p.packedData(ctx, id.Packed)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	if id.User != "" {
		want, err := clientPrincipal(conf, id.User, id.Domain)
		if err != nil {
			return nil, err
		}
		principal = want.String()
	}
	if isKeytab {
		kt, err := krb5.ParseKeytab(b)
		if err != nil {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: keytab: %w", err)
		}
		return keytabCredentials(conf, kt, principal, max)
	}
	return ccacheCredentials(conf, b, principal, max)
}

// clientPrincipal returns the principal of a user name as a caller
// writes it: "alice" with the realm in domain (or the default realm),
// "alice@REALM", or "REALM\alice".
func clientPrincipal(conf *krb5.Config, user, domain string) (krb5.Principal, error) {
	if d, u, ok := strings.Cut(user, `\`); ok && domain == "" && !strings.Contains(user, "@") {
		user, domain = u, d
	}
	if user == "" {
		return krb5.Principal{}, secpkg.Errorf(secpkg.StatusUnknownCredentials, "kerberos: credentials without a user name")
	}
	name := user
	if domain != "" && !strings.Contains(user, "@") {
		name = user + "@" + strings.ToUpper(domain)
	}
	p, err := conf.Principal(name)
	if err != nil {
		return krb5.Principal{}, secpkg.Errorf(secpkg.StatusUnknownCredentials, "kerberos: user %q: %w", name, err)
	}
	p.Type = krb5.NamePrincipal
	return p, nil
}

// Limits on files read for callers.
const (
	maxKeytabFile = 16 << 20
	maxCCacheFile = 16 << 20
)

// expandName substitutes MIT's %{uid} and %{euid} in a default name.
func expandName(s string) string {
	uid := strconv.Itoa(os.Getuid())
	s = strings.ReplaceAll(s, "%{uid}", uid)
	return strings.ReplaceAll(s, "%{euid}", strconv.Itoa(os.Geteuid()))
}

// readFileLimited reads a file of at most max bytes.
func readFileLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

// processKeytab returns credentials from the client keytab of the LSA's
// process, or nil if it has none.
func (p *lsaPackage) processKeytab(conf *krb5.Config, principal string, max int) (*initiatorCreds, error) {
	path := expandName(p.cfg.clientKeytabPath(conf.DefaultClientKeytabName))
	if path == "" {
		return nil, nil
	}
	b, err := readFileLimited(path, maxKeytabFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: client keytab: %w", err)
	}
	kt, err := krb5.ParseKeytab(b)
	clear(b)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: client keytab %s: %w", path, err)
	}
	return keytabCredentials(conf, kt, principal, max)
}

// keytabCredentials returns credentials that log on with a keytab's keys:
// as principal, or as the keytab's first principal.
func keytabCredentials(conf *krb5.Config, kt *krb5.Keytab, principal string, max int) (*initiatorCreds, error) {
	ps := kt.Principals()
	if len(ps) == 0 {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the client keytab is empty")
	}
	client := ps[0]
	if principal != "" {
		want, err := clientPrincipal(conf, principal, "")
		if err != nil {
			return nil, err
		}
		found := false
		for _, q := range ps {
			if q.Equal(want) {
				client, found = q, true
				break
			}
		}
		if !found {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: no key for %v in the client keytab", want)
		}
	}
	return &initiatorCreds{source: fromKeytab, client: client, own: newTicketCache(max), keytab: kt}, nil
}

// processCCache returns credentials from the MIT FILE credentials cache of
// the LSA's process (KRB5CCNAME, or krb5.conf's default_ccache_name, or
// /tmp/krb5cc_UID), or nil if it has none.
func (p *lsaPackage) processCCache(conf *krb5.Config, principal string, max int) (*initiatorCreds, error) {
	name := os.Getenv("KRB5CCNAME")
	if name == "" {
		name = conf.DefaultCCacheName
	}
	if name == "" {
		name = "FILE:/tmp/krb5cc_%{uid}"
	}
	path := filePath(expandName(name))
	if path == "" {
		return nil, nil
	}
	b, err := readFileLimited(path, maxCCacheFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: credentials cache: %w", err)
	}
	o, err := ccacheCredentials(conf, b, principal, max)
	clear(b)
	return o, err
}

// ccacheCredentials returns credentials with the TGT of an MIT FILE
// credentials cache, which must be the cache principal's.
func ccacheCredentials(conf *krb5.Config, b []byte, principal string, max int) (*initiatorCreds, error) {
	cc, err := krb5.ParseCCache(b)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: credentials cache: %w", err)
	}
	tgt := cc.TGT()
	if tgt == nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the credentials cache of %v holds no TGT", cc.Principal)
	}
	if principal != "" {
		want, err := clientPrincipal(conf, principal, "")
		if err != nil {
			return nil, err
		}
		if !want.Equal(cc.Principal) {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the credentials cache is %v's, not %v's", cc.Principal, want)
		}
	}
	own := newTicketCache(max)
	own.setTGT(tgt, nil)
	for _, c := range cc.Credentials {
		if c != tgt {
			destroyCredential(c)
		}
	}
	return &initiatorCreds{source: fromCCache, client: cc.Principal, own: own}, nil
}

// acceptorCredentials returns inbound credentials: the keytab, and the
// principal req names, which must have keys in it.
func (p *lsaPackage) acceptorCredentials(ctx context.Context, conf *krb5.Config, req *secpkg.CredentialsRequest) (*acceptorCreds, error) {
	var kt *krb5.Keytab
	if id := req.Identity; id != nil && id.Packed != nil {
		// The caller's own keytab (lsad's policy still decides which
		// principals it may accept as).
		b, isKeytab, err := p.packedData(ctx, id.Packed)
		if err != nil {
			return nil, err
		}
		if !isKeytab {
			clear(b)
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: inbound credentials need a keytab, not a credentials cache")
		}
		kt, err = krb5.ParseKeytab(b)
		clear(b)
		if err != nil {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: keytab: %w", err)
		}
	} else {
		var err error
		if kt, err = p.keytabs.load(p.cfg.keytabPaths(expandName(conf.DefaultKeytabName))); err != nil {
			return nil, err
		}
	}
	in := &acceptorCreds{keytab: kt}
	if req.Principal == "" {
		if len(kt.Principals()) == 0 {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the keytab holds no keys")
		}
		return in, nil
	}
	svc, err := servicePrincipal(conf, req.Principal)
	if err != nil {
		return nil, err
	}
	for _, q := range kt.Principals() {
		if q.Equal(svc) {
			in.service = &svc
			return in, nil
		}
	}
	return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: no key for %v in the keytab", svc)
}

// servicePrincipal returns the principal of a service or target name as
// an application writes it: "service/host" (an SPN), "service@host" (a
// GSS host-based service name), "service/host@REALM" or any full
// principal name "name@REALM" where REALM is a realm krb5.conf knows (the
// default realm or one of [realms]). The realm of the host-based forms
// comes from [domain_realm], else the default realm.
func servicePrincipal(conf *krb5.Config, name string) (krb5.Principal, error) {
	bad := func(err error) (krb5.Principal, error) {
		return krb5.Principal{}, secpkg.Errorf(secpkg.StatusTargetUnknown, "kerberos: target %q: %w", name, err)
	}
	if name == "" {
		return bad(errors.New("no target name"))
	}
	if !strings.Contains(name, "/") {
		if i := strings.LastIndexByte(name, '@'); i > 0 && knownRealm(conf, name[i+1:]) {
			p, err := conf.Principal(name)
			if err != nil {
				return bad(err)
			}
			return p, nil
		}
	}
	p, err := conf.ServicePrincipal(name)
	if err != nil {
		return bad(err)
	}
	return p, nil
}

// knownRealm reports whether s names a realm of the configuration.
func knownRealm(conf *krb5.Config, s string) bool {
	if s == "" || s != strings.ToUpper(s) {
		return false
	}
	if s == conf.DefaultRealm {
		return true
	}
	_, ok := conf.Realms[s]
	return ok
}

// FreeCredentialsHandle is SpFreeCredentialsHandle.
func (p *lsaPackage) FreeCredentialsHandle(ctx context.Context, h secpkg.Handle) error {
	c, ok := p.creds.Delete(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: no such credentials")
	}
	c.wipe()
	return nil
}

// QueryCredentialsAttributes is SpQueryCredentialsAttributes.
func (p *lsaPackage) QueryCredentialsAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	c, ok := p.creds.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: no such credentials")
	}
	out := &secpkg.Credentials{Handle: h, Name: c.name}
	if c.out != nil {
		if tgt := c.out.tgt(); tgt != nil {
			out.Expiry = tgt.EndTime
		}
	}
	return out, nil
}

// keytabCache reads the acceptor keytabs again only when they change.
type keytabCache struct {
	mu    sync.Mutex
	paths []string
	stamp []fileStamp
	kt    *krb5.Keytab
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// load returns the merged keys of the keytabs at paths.
func (c *keytabCache) load(paths []string) (*krb5.Keytab, error) {
	stamps := make([]fileStamp, len(paths))
	for i, path := range paths {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: keytab: %w", err)
		}
		stamps[i] = fileStamp{fi.Size(), fi.ModTime()}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kt != nil && equalStrings(c.paths, paths) && equalStamps(c.stamp, stamps) {
		return c.kt, nil
	}
	merged := &krb5.Keytab{}
	for _, path := range paths {
		b, err := readFileLimited(path, maxKeytabFile)
		if err != nil {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: keytab: %w", err)
		}
		kt, err := krb5.ParseKeytab(b)
		clear(b)
		if err != nil {
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: keytab %s: %w", path, err)
		}
		for _, e := range kt.Entries() {
			merged.Add(e.Principal, e.KVNO, e.Key, e.Timestamp)
		}
	}
	c.paths, c.stamp, c.kt = append([]string(nil), paths...), stamps, merged
	return merged, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].size != b[i].size || !a[i].mod.Equal(b[i].mod) {
			return false
		}
	}
	return true
}
