package krb5

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// NameType is a principal's name type (RFC 4120 6.2, MS-KILE 2.2.7).
type NameType int32

// Name types.
const (
	NameUnknown    NameType = 0  // NT-UNKNOWN
	NamePrincipal  NameType = 1  // NT-PRINCIPAL: a user or a host (RFC 4120 6.2)
	NameSrvInst    NameType = 2  // NT-SRV-INST: service and other unique instance (krbtgt)
	NameSrvHst     NameType = 3  // NT-SRV-HST: service with host name as instance
	NameSrvXHst    NameType = 4  // NT-SRV-XHST
	NameUID        NameType = 5  // NT-UID
	NameEnterprise NameType = 10 // NT-ENTERPRISE (RFC 6806 5)
	NameWellKnown  NameType = 11 // NT-WELLKNOWN (RFC 6111 3)
)

// String returns the RFC 4120 name, such as "NT-SRV-HST".
func (t NameType) String() string {
	switch t {
	case NameUnknown:
		return "NT-UNKNOWN"
	case NamePrincipal:
		return "NT-PRINCIPAL"
	case NameSrvInst:
		return "NT-SRV-INST"
	case NameSrvHst:
		return "NT-SRV-HST"
	case NameSrvXHst:
		return "NT-SRV-XHST"
	case NameUID:
		return "NT-UID"
	case NameEnterprise:
		return "NT-ENTERPRISE"
	case NameWellKnown:
		return "NT-WELLKNOWN"
	}
	return fmt.Sprintf("NameType(%d)", int32(t))
}

// Limits on names, applied by every parser (DER, keytab, ccache, text).
const (
	maxNameComponents = 16   // MIT has no limit; real names have 1 to 3
	maxNameLength     = 1024 // bytes in one component or realm
)

// Principal is a Kerberos principal: PrincipalName and Realm (RFC 4120
// 5.2.2), the krb5_principal of MIT's API.
type Principal struct {
	Type       NameType
	Components []string
	Realm      string
}

// NewPrincipal returns the principal with the given type, realm and
// components.
func NewPrincipal(t NameType, realm string, components ...string) Principal {
	return Principal{Type: t, Components: slices.Clone(components), Realm: realm}
}

// TGSPrincipal returns krbtgt/service@client, the ticket-granting service
// of realm service as known in realm client (RFC 4120 7.3).
func TGSPrincipal(service, client string) Principal {
	return NewPrincipal(NameSrvInst, client, "krbtgt", service)
}

// Equal reports whether p and q name the same principal: the same
// components and realm, byte for byte. The name type is not compared, as
// MIT's krb5_principal_compare does not.
func (p Principal) Equal(q Principal) bool {
	return p.Realm == q.Realm && slices.Equal(p.Components, q.Components)
}

// IsZero reports whether p has no components and no realm.
func (p Principal) IsZero() bool { return len(p.Components) == 0 && p.Realm == "" }

// IsTGS reports whether p is a ticket-granting service, krbtgt/REALM.
func (p Principal) IsTGS() bool {
	return len(p.Components) == 2 && p.Components[0] == "krbtgt"
}

// Clone returns a copy of p that shares no memory with it.
func (p Principal) Clone() Principal {
	p.Components = slices.Clone(p.Components)
	return p
}

// String returns p in MIT's text form, components joined by "/", realm
// after "@", with "/", "@", "\" and control characters escaped
// (krb5_unparse_name).
func (p Principal) String() string {
	var buf [128]byte
	return string(p.appendText(buf[:0]))
}

// appendText appends String's form of p to dst.
func (p Principal) appendText(dst []byte) []byte {
	for i, c := range p.Components {
		if i > 0 {
			dst = append(dst, '/')
		}
		dst = appendEscaped(dst, c, false)
	}
	if p.Realm != "" {
		dst = append(dst, '@')
		dst = appendEscaped(dst, p.Realm, true)
	}
	return dst
}

// NameString returns p without its realm, escaped as String does.
func (p Principal) NameString() string {
	q := p
	q.Realm = ""
	return q.String()
}

func appendEscaped(b []byte, s string, realm bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/':
			if realm {
				b = append(b, c)
				continue
			}
			b = append(b, `\/`...)
		case '@':
			b = append(b, `\@`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\t':
			b = append(b, `\t`...)
		case '\b':
			b = append(b, `\b`...)
		case 0:
			b = append(b, `\0`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// ParsePrincipal parses MIT's text form of a principal name
// (krb5_parse_name): "alice@REALM", "host/example.com@REALM", "alice". A
// name without a realm gets realm "" (see [Config.Principal]). The name
// type is NT-PRINCIPAL, or NT-SRV-INST for krbtgt/REALM.
func ParsePrincipal(s string) (Principal, error) {
	var p Principal
	var cur []byte
	inRealm := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i == len(s) {
				return Principal{}, errors.New("krb5: principal name ends with a backslash")
			}
			switch e := s[i]; e {
			case 'n':
				cur = append(cur, '\n')
			case 't':
				cur = append(cur, '\t')
			case 'b':
				cur = append(cur, '\b')
			case '0':
				cur = append(cur, 0)
			default:
				cur = append(cur, e)
			}
		case c == '/' && !inRealm:
			p.Components = append(p.Components, string(cur))
			cur = cur[:0]
		case c == '@' && !inRealm:
			p.Components = append(p.Components, string(cur))
			cur = cur[:0]
			inRealm = true
		case c == '@':
			return Principal{}, fmt.Errorf("krb5: principal name %q has two realms", s)
		default:
			cur = append(cur, c)
		}
	}
	if inRealm {
		if len(cur) == 0 {
			return Principal{}, fmt.Errorf("krb5: principal name %q has an empty realm", s)
		}
		p.Realm = string(cur)
	} else {
		p.Components = append(p.Components, string(cur))
	}
	p.Type = NamePrincipal
	if p.IsTGS() {
		p.Type = NameSrvInst
	}
	if err := p.check(); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// check applies the limits every parser enforces on a name.
func (p Principal) check() error {
	if len(p.Components) == 0 {
		return errors.New("krb5: principal name has no components")
	}
	if len(p.Components) > maxNameComponents {
		return fmt.Errorf("krb5: principal name has %d components (limit %d)", len(p.Components), maxNameComponents)
	}
	if len(p.Realm) > maxNameLength {
		return errors.New("krb5: realm name too long")
	}
	for _, c := range p.Components {
		if c == "" && len(p.Components) > 1 {
			return errors.New("krb5: principal name has an empty component")
		}
		if len(c) > maxNameLength {
			return errors.New("krb5: principal name component too long")
		}
	}
	return nil
}

// HostBasedService returns service/host (NT-SRV-HST) in the given realm:
// the Kerberos name of the GSS host-based service name service@host
// (RFC 2743 4.1, RFC 4121 2.1.2). The host is lower-cased, as MIT does
// without DNS canonicalization.
func HostBasedService(service, host, realm string) Principal {
	return NewPrincipal(NameSrvHst, realm, service, strings.ToLower(strings.TrimSuffix(host, ".")))
}
