package krb5

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Config is the Kerberos configuration this package uses, read from
// krb5.conf (MIT's profile format: [libdefaults], [realms],
// [domain_realm]) by [LoadConfig] or [ParseConfig]. A zero field means
// MIT's default. A Config must not be changed once a [Client] uses it.
type Config struct {
	// DefaultRealm is [libdefaults] default_realm.
	DefaultRealm string
	// Realms holds [realms]: the KDCs of each realm, in order.
	Realms map[string]RealmConfig
	// DomainRealm is [domain_realm]: host name or ".domain" → realm.
	DomainRealm map[string]string

	// TicketLifetime and RenewLifetime are what a client asks for
	// (ticket_lifetime, default 1 day; renew_lifetime, default 0: no
	// renewable tickets).
	TicketLifetime time.Duration
	RenewLifetime  time.Duration
	// ClockSkew is the largest difference between two clocks this
	// package tolerates (clockskew, default 5 minutes).
	ClockSkew time.Duration
	// Forwardable asks for forwardable TGTs (forwardable), needed to
	// delegate them. Proxiable likewise (proxiable).
	Forwardable bool
	Proxiable   bool
	// Canonicalize sets the canonicalize option on AS requests
	// (canonicalize); TGS requests always set it, to follow referrals.
	Canonicalize bool
	// PermittedETypes are the encryption types this package accepts in
	// any message (permitted_enctypes); DefaultTktETypes and
	// DefaultTGSETypes are those requested, in order, for AS and TGS
	// requests (default_tkt_enctypes, default_tgs_enctypes). Each is
	// limited to the types this package implements; nil means
	// DefaultETypes.
	PermittedETypes  []EType
	DefaultTktETypes []EType
	DefaultTGSETypes []EType
	// UDPPreferenceLimit is the largest request sent over UDP
	// (udp_preference_limit, default 1465); 1 means TCP only.
	UDPPreferenceLimit int
	// EnforceOKAsDelegate allows delegation only to services whose
	// ticket carries ok-as-delegate (enforce_ok_as_delegate, MIT).
	EnforceOKAsDelegate bool
	// DefaultKeytabName, DefaultClientKeytabName and DefaultCCacheName
	// are default_keytab_name, default_client_keytab_name and
	// default_ccache_name as written (a "FILE:" prefix included); empty
	// if unset. This package reads no file by them: the LSA decides.
	DefaultKeytabName       string
	DefaultClientKeytabName string
	DefaultCCacheName       string
}

// RealmConfig is one realm's entry in [realms].
type RealmConfig struct {
	KDCs          []KDCAddr
	AdminServers  []string
	DefaultDomain string
}

// KDCAddr is one "kdc" relation: an address and the transports it may be
// reached by.
type KDCAddr struct {
	Addr    string // host:port
	TCPOnly bool   // "tcp/host:port": never UDP
	UDPOnly bool   // "udp/host:port": never TCP
}

// String returns the address as krb5.conf writes it.
func (k KDCAddr) String() string {
	switch {
	case k.TCPOnly:
		return "tcp/" + k.Addr
	case k.UDPOnly:
		return "udp/" + k.Addr
	}
	return k.Addr
}

// Defaults (MIT krb5 1.20).
const (
	defaultClockSkew          = 5 * time.Minute
	defaultTicketLifetime     = 24 * time.Hour
	defaultUDPPreferenceLimit = 1465
	kdcPort                   = "88"
)

func (c *Config) clockSkew() time.Duration {
	if c.ClockSkew > 0 {
		return c.ClockSkew
	}
	return defaultClockSkew
}

func (c *Config) ticketLifetime() time.Duration {
	if c.TicketLifetime > 0 {
		return c.TicketLifetime
	}
	return defaultTicketLifetime
}

func (c *Config) udpLimit() int {
	if c.UDPPreferenceLimit > 0 {
		return c.UDPPreferenceLimit
	}
	return defaultUDPPreferenceLimit
}

// permitted returns the permitted encryption types.
func (c *Config) permitted() []EType {
	if c.PermittedETypes != nil {
		return c.PermittedETypes
	}
	return DefaultETypes
}

// Permits reports whether e may be used at all.
func (c *Config) Permits(e EType) bool { return e.Supported() && slices.Contains(c.permitted(), e) }

// requested returns list (or the permitted types) limited to the
// permitted ones, in list's order.
func (c *Config) requested(list []EType) []EType {
	if list == nil {
		list = c.permitted()
	}
	var out []EType
	for _, e := range list {
		if c.Permits(e) && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// KDCs returns the KDCs of realm, in the order to try them.
func (c *Config) KDCs(realm string) ([]KDCAddr, error) {
	r, ok := c.Realms[realm]
	if !ok || len(r.KDCs) == 0 {
		return nil, fmt.Errorf("krb5: no KDC known for realm %q (krb5.conf [realms])", realm)
	}
	return r.KDCs, nil
}

// RealmOfHost returns the realm of a host by [domain_realm]: the entry
// for the host itself, else the longest ".domain" entry that ends it.
// ok is false when no entry applies; MIT then asks the default realm's
// KDC and follows its referral (see [Config.ServicePrincipal]).
func (c *Config) RealmOfHost(host string) (realm string, ok bool) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if r, ok := c.DomainRealm[host]; ok {
		return r, true
	}
	for d := host; ; {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return "", false
		}
		if r, ok := c.DomainRealm[d[i:]]; ok {
			return r, true
		}
		d = d[i+1:]
	}
}

// ServicePrincipal returns the Kerberos principal of a service name as a
// caller writes it:
//
//	service@host         a GSS host-based service name (RFC 2743 4.1)
//	service/host         an SPN, as Windows writes them
//	service/host@REALM   a full principal name
//
// For the first two, the realm is that of the host by [domain_realm], or
// the default realm (whose KDC is asked to canonicalize the name and may
// answer with a referral). The result has type NT-SRV-HST.
func (c *Config) ServicePrincipal(name string) (Principal, error) {
	if strings.ContainsRune(name, '/') {
		p, err := ParsePrincipal(name)
		if err != nil {
			return Principal{}, err
		}
		if len(p.Components) != 2 || p.Components[1] == "" {
			return Principal{}, fmt.Errorf("krb5: service name %q is not service/host", name)
		}
		p.Type = NameSrvHst
		if p.Realm == "" {
			p.Realm = c.hostRealm(p.Components[1])
		}
		if p.IsTGS() {
			p.Type = NameSrvInst
		}
		if p.Realm == "" {
			return Principal{}, errors.New("krb5: no realm for the service and no default realm")
		}
		return p, nil
	}
	svc, host, ok := strings.Cut(name, "@")
	if !ok || svc == "" || host == "" || strings.ContainsAny(host, "@\\") {
		return Principal{}, fmt.Errorf("krb5: service name %q is not service@host", name)
	}
	realm := c.hostRealm(host)
	if realm == "" {
		return Principal{}, errors.New("krb5: no realm for the service and no default realm")
	}
	p := HostBasedService(svc, host, realm)
	return p, p.check()
}

func (c *Config) hostRealm(host string) string {
	if r, ok := c.RealmOfHost(host); ok {
		return r
	}
	return c.DefaultRealm
}

// Principal parses a principal name, giving it the default realm if it
// names none (krb5_parse_name).
func (c *Config) Principal(name string) (Principal, error) {
	p, err := ParsePrincipal(name)
	if err != nil {
		return Principal{}, err
	}
	if p.Realm == "" {
		if c.DefaultRealm == "" {
			return Principal{}, fmt.Errorf("krb5: %q names no realm and there is no default realm", name)
		}
		p.Realm = c.DefaultRealm
	}
	return p, nil
}

// MayDelegate reports whether credentials may be delegated to a service
// whose ticket has the given flags: always, unless EnforceOKAsDelegate
// is set and the KDC did not mark the service ok-as-delegate (RFC 4120
// 2.8; MIT's enforce_ok_as_delegate).
func (c *Config) MayDelegate(serviceTicket TicketFlags) bool {
	return !c.EnforceOKAsDelegate || serviceTicket.Has(FlagOKAsDelegate)
}

// Limits of the profile reader.
const (
	maxConfigSize    = 1 << 20
	maxConfigFiles   = 64
	maxIncludeDepth  = 5
	maxProfileDepth  = 8
	maxProfileValues = 1 << 16
)

// LoadConfig reads the Kerberos configuration as MIT does: the
// colon-separated files of KRB5_CONFIG, or /etc/krb5.conf; files that do
// not exist are skipped, but at least one must exist. paths, if given,
// replace that list. "include FILE" and "includedir DIR" are followed.
func LoadConfig(paths ...string) (*Config, error) {
	if len(paths) == 0 {
		if v := os.Getenv("KRB5_CONFIG"); v != "" {
			paths = strings.Split(v, ":")
		} else {
			paths = []string{"/etc/krb5.conf"}
		}
	}
	p := newProfile()
	found := false
	for _, path := range paths {
		if path == "" {
			continue
		}
		err := p.loadFile(path, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
	}
	if !found {
		return nil, fmt.Errorf("krb5: no configuration file found in %q", paths)
	}
	return p.config()
}

// ParseConfig parses one krb5.conf. Include directives are refused: a
// caller that passes bytes has already decided what to read.
func ParseConfig(b []byte) (*Config, error) {
	p := newProfile()
	if err := p.parse(b, "krb5.conf", -1); err != nil {
		return nil, err
	}
	return p.config()
}

// profile is MIT's configuration tree: sections of relations, a relation
// having string values or a subtree (MIT's profile library).
type profile struct {
	root   *profileNode
	files  int
	values int
}

type profileNode struct {
	values   []string
	children map[string][]*profileNode // tag → nodes, in file order
	final    bool
}

func newProfile() *profile {
	return &profile{root: &profileNode{children: map[string][]*profileNode{}}}
}

func (p *profile) loadFile(path string, depth int) error {
	p.files++
	if p.files > maxConfigFiles {
		return errors.New("krb5: too many configuration files")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > maxConfigSize {
		return fmt.Errorf("krb5: %s is larger than %d bytes", path, maxConfigSize)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return fmt.Errorf("krb5: reading %s: %w", path, err)
	}
	return p.parse(b, path, depth)
}

// parse reads one file into the tree. depth < 0 refuses includes.
func (p *profile) parse(b []byte, name string, depth int) error {
	if len(b) > maxConfigSize {
		return fmt.Errorf("krb5: %s is larger than %d bytes", name, maxConfigSize)
	}
	var section *profileNode
	var stack []*profileNode // open subsections
	for n, line := range strings.Split(string(b), "\n") {
		bad := func(what string) error { return fmt.Errorf("krb5: %s:%d: %s", name, n+1, what) }
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if len(stack) == 0 {
			if strings.HasPrefix(line, "include ") || strings.HasPrefix(line, "includedir ") {
				if depth < 0 {
					return bad("include directives are not allowed here")
				}
				if depth >= maxIncludeDepth {
					return bad("includes nested too deeply")
				}
				dir, arg, _ := strings.Cut(line, " ")
				arg = strings.TrimSpace(arg)
				if !filepath.IsAbs(arg) {
					return bad("include needs an absolute path")
				}
				if err := p.include(dir == "includedir", arg, depth+1); err != nil {
					return err
				}
				continue
			}
			if trimmed[0] == '[' {
				end := strings.IndexByte(trimmed, ']')
				if end < 0 {
					return bad("unterminated section header")
				}
				tag := trimmed[1:end]
				section = p.root.child(tag)
				if rest := strings.TrimSpace(trimmed[end+1:]); rest == "*" {
					section.final = true
				} else if rest != "" {
					return bad("text after section header")
				}
				continue
			}
		}
		if section == nil {
			return bad("relation outside a section")
		}
		cur := section
		if len(stack) > 0 {
			cur = stack[len(stack)-1]
		}
		if trimmed[0] == '}' {
			if len(stack) == 0 {
				return bad("unmatched '}'")
			}
			if strings.TrimSpace(trimmed[1:]) == "*" {
				cur.final = true
			}
			stack = stack[:len(stack)-1]
			continue
		}
		tag, value, ok := strings.Cut(trimmed, "=")
		if !ok {
			return bad("expected tag = value")
		}
		tag = strings.TrimSpace(tag)
		value = strings.TrimSpace(value)
		final := strings.HasSuffix(tag, "*")
		tag = strings.TrimSuffix(tag, "*")
		if tag == "" {
			return bad("empty tag")
		}
		if value == "{" {
			if len(stack) >= maxProfileDepth {
				return bad("subsections nested too deeply")
			}
			sub := &profileNode{children: map[string][]*profileNode{}, final: final}
			cur.children[tag] = append(cur.children[tag], sub)
			stack = append(stack, sub)
			continue
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			if uq, err := strconv.Unquote(value); err == nil {
				value = uq
			}
		}
		p.values++
		if p.values > maxProfileValues {
			return bad("too many values")
		}
		leaf := &profileNode{values: []string{value}, final: final}
		cur.children[tag] = append(cur.children[tag], leaf)
	}
	if len(stack) != 0 {
		return fmt.Errorf("krb5: %s: unterminated subsection", name)
	}
	return nil
}

func (p *profile) include(dir bool, path string, depth int) error {
	if !dir {
		return p.loadFile(path, depth)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("krb5: includedir %s: %w", path, err)
	}
	for _, e := range entries {
		n := e.Name()
		// MIT reads names of letters, digits, '-' and '_', or ending ".conf".
		ok := strings.HasSuffix(n, ".conf")
		if !ok {
			ok = strings.IndexFunc(n, func(r rune) bool {
				return !(r == '-' || r == '_' || r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)))
			}) < 0
		}
		if !ok || e.IsDir() {
			continue
		}
		if err := p.loadFile(filepath.Join(path, n), depth); err != nil {
			return err
		}
	}
	return nil
}

// child returns the (merged) section node for tag, creating it.
func (n *profileNode) child(tag string) *profileNode {
	if l := n.children[tag]; len(l) > 0 {
		return l[0]
	}
	c := &profileNode{children: map[string][]*profileNode{}}
	n.children[tag] = []*profileNode{c}
	return c
}

// values returns every value of the relation path, in order, stopping
// after a node marked final.
func (n *profileNode) lookup(path ...string) []string {
	if len(path) == 0 {
		return n.values
	}
	var out []string
	for _, c := range n.children[path[0]] {
		out = append(out, c.lookup(path[1:]...)...)
		if c.final {
			break
		}
	}
	return out
}

// first returns the first value of the relation path.
func (n *profileNode) first(path ...string) (string, bool) {
	v := n.lookup(path...)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func (p *profile) config() (*Config, error) {
	c := &Config{Realms: map[string]RealmConfig{}, DomainRealm: map[string]string{}}
	lib := p.root.child("libdefaults")
	c.DefaultRealm, _ = lib.first("default_realm")
	c.DefaultKeytabName, _ = lib.first("default_keytab_name")
	c.DefaultClientKeytabName, _ = lib.first("default_client_keytab_name")
	c.DefaultCCacheName, _ = lib.first("default_ccache_name")

	var err error
	dur := func(key string, dst *time.Duration) {
		if v, ok := lib.first(key); ok && err == nil {
			if *dst, err = parseDuration(v); err != nil {
				err = fmt.Errorf("krb5: [libdefaults] %s: %w", key, err)
			}
		}
	}
	boolean := func(key string, dst *bool) {
		if v, ok := lib.first(key); ok && err == nil {
			if *dst, err = parseBool(v); err != nil {
				err = fmt.Errorf("krb5: [libdefaults] %s: %w", key, err)
			}
		}
	}
	dur("ticket_lifetime", &c.TicketLifetime)
	dur("renew_lifetime", &c.RenewLifetime)
	dur("clockskew", &c.ClockSkew)
	boolean("forwardable", &c.Forwardable)
	boolean("proxiable", &c.Proxiable)
	boolean("canonicalize", &c.Canonicalize)
	boolean("enforce_ok_as_delegate", &c.EnforceOKAsDelegate)
	var weak bool
	boolean("allow_weak_crypto", &weak)
	if err != nil {
		return nil, err
	}
	if v, ok := lib.first("udp_preference_limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("krb5: [libdefaults] udp_preference_limit %q", v)
		}
		c.UDPPreferenceLimit = n
	}
	if v, ok := lib.first("permitted_enctypes"); ok {
		c.PermittedETypes = parseETypeList(v, DefaultETypes)
	}
	if v, ok := lib.first("default_tkt_enctypes"); ok {
		c.DefaultTktETypes = parseETypeList(v, c.permitted())
	}
	if v, ok := lib.first("default_tgs_enctypes"); ok {
		c.DefaultTGSETypes = parseETypeList(v, c.permitted())
	}

	realms := p.root.child("realms")
	for name, nodes := range realms.children {
		var rc RealmConfig
		for _, n := range nodes {
			for _, v := range n.lookup("kdc") {
				k, err := parseKDCAddr(v)
				if err != nil {
					return nil, fmt.Errorf("krb5: [realms] %s kdc: %w", name, err)
				}
				rc.KDCs = append(rc.KDCs, k)
			}
			rc.AdminServers = append(rc.AdminServers, n.lookup("admin_server")...)
			if v, ok := n.first("default_domain"); ok && rc.DefaultDomain == "" {
				rc.DefaultDomain = v
			}
			if n.final {
				break
			}
		}
		c.Realms[name] = rc
	}
	for host, nodes := range p.root.child("domain_realm").children {
		for _, n := range nodes {
			if len(n.values) > 0 {
				h := strings.ToLower(host)
				if _, dup := c.DomainRealm[h]; !dup {
					c.DomainRealm[h] = n.values[0]
				}
				break
			}
		}
	}
	return c, nil
}

// parseKDCAddr parses a kdc relation: host, host:port, [v6]:port, v6,
// optionally prefixed by tcp/ or udp/. MS-KKDCP URLs are not supported.
func parseKDCAddr(v string) (KDCAddr, error) {
	var k KDCAddr
	switch {
	case strings.HasPrefix(v, "tcp/"):
		k.TCPOnly, v = true, v[4:]
	case strings.HasPrefix(v, "udp/"):
		k.UDPOnly, v = true, v[4:]
	case strings.Contains(v, "://"):
		return KDCAddr{}, fmt.Errorf("%q: KDC proxies (MS-KKDCP) are not supported", v)
	}
	if v == "" {
		return KDCAddr{}, errors.New("empty address")
	}
	host, port, err := net.SplitHostPort(v)
	switch {
	case err == nil:
	case strings.Count(v, ":") > 1 && !strings.HasPrefix(v, "["):
		host, port = v, kdcPort // bare IPv6
	case !strings.Contains(v, ":"):
		host, port = v, kdcPort
	default:
		return KDCAddr{}, fmt.Errorf("%q: %w", v, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return KDCAddr{}, fmt.Errorf("%q: bad port", v)
	}
	k.Addr = net.JoinHostPort(host, port)
	return k, nil
}

// parseETypeList parses an MIT enctype list: names, numbers and families
// ("aes", "aes-sha1", "aes-sha2", "rc4", "DEFAULT"), separated by spaces
// or commas, a leading "-" removing a type. Types this package does not
// implement are dropped, as MIT drops unknown names.
func parseETypeList(v string, dflt []EType) []EType {
	out := []EType{}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		remove := strings.HasPrefix(f, "-")
		f = strings.TrimPrefix(strings.TrimPrefix(f, "-"), "+")
		var list []EType
		switch strings.ToLower(f) {
		case "default":
			list = dflt
		case "aes":
			list = []EType{AES256SHA1, AES128SHA1, AES256SHA384, AES128SHA256}
		case "aes-sha1":
			list = []EType{AES256SHA1, AES128SHA1}
		case "aes-sha2":
			list = []EType{AES256SHA384, AES128SHA256}
		case "rc4", "arcfour-hmac", "rc4-hmac", "arcfour-hmac-md5":
			list = []EType{RC4HMAC}
		case "aes256-cts-hmac-sha1-96", "aes256-cts", "aes256-sha1":
			list = []EType{AES256SHA1}
		case "aes128-cts-hmac-sha1-96", "aes128-cts", "aes128-sha1":
			list = []EType{AES128SHA1}
		case "aes256-cts-hmac-sha384-192", "aes256-sha2":
			list = []EType{AES256SHA384}
		case "aes128-cts-hmac-sha256-128", "aes128-sha2":
			list = []EType{AES128SHA256}
		default:
			if n, err := strconv.Atoi(f); err == nil && EType(n).Supported() {
				list = []EType{EType(n)}
			}
		}
		for _, e := range list {
			if remove {
				out = slices.DeleteFunc(out, func(x EType) bool { return x == e })
			} else if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out
}

// parseDuration parses MIT's duration forms: "10h", "1d 2h30m", "3600"
// (seconds), "HH:MM[:SS]".
func parseDuration(v string) (time.Duration, error) {
	s := strings.ReplaceAll(strings.TrimSpace(v), " ", "")
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if n, err := strconv.ParseUint(s, 10, 31); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, fmt.Errorf("bad duration %q", v)
		}
		var d time.Duration
		units := []time.Duration{time.Hour, time.Minute, time.Second}
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 31)
			if err != nil {
				return 0, fmt.Errorf("bad duration %q", v)
			}
			d += time.Duration(n) * units[i]
		}
		return d, nil
	}
	var d time.Duration
	num := ""
	for _, r := range s {
		if r >= '0' && r <= '9' {
			num += string(r)
			continue
		}
		n, err := strconv.ParseUint(num, 10, 31)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q", v)
		}
		var unit time.Duration
		switch r {
		case 'd':
			unit = 24 * time.Hour
		case 'h':
			unit = time.Hour
		case 'm':
			unit = time.Minute
		case 's':
			unit = time.Second
		default:
			return 0, fmt.Errorf("bad duration %q", v)
		}
		d += time.Duration(n) * unit
		num = ""
	}
	if num != "" {
		return 0, fmt.Errorf("bad duration %q", v)
	}
	return d, nil
}

// parseBool parses MIT's booleans.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "y", "yes", "true", "t", "1", "on":
		return true, nil
	case "n", "no", "false", "nil", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("bad boolean %q", v)
}
