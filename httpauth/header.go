package httpauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Authentication schemes (RFC 4559 Section 4; MS-NTHT 2.2 for NTLM).
const (
	SchemeNegotiate = "Negotiate"
	SchemeNTLM      = "NTLM"
)

// Limits of what the parsers accept, checked before anything is decoded.
const (
	// DefaultMaxTokenSize is the largest security token a header may carry
	// (48 KiB, the Windows MaxTokenSize, which Kerberos tickets with a
	// large PAC approach).
	DefaultMaxTokenSize = 48 * 1024
	// maxChallenges bounds the challenges read from the
	// WWW-Authenticate or Proxy-Authenticate headers of one response.
	maxChallenges = 32
	// maxParams bounds the auth-params of one challenge.
	maxParams = 32
)

// Parse errors. The server answers each with 400 Bad Request.
var (
	errMalformed = errors.New("httpauth: malformed credentials")
	errBase64    = errors.New("httpauth: token is not base64")
	errTooLarge  = errors.New("httpauth: token is too large")
	errNoToken   = errors.New("httpauth: credentials carry no token")
)

// challenge is one challenge of a WWW-Authenticate or Proxy-Authenticate
// header (RFC 9110 11.6.1): a scheme with a token68 or auth-params.
type challenge struct {
	scheme  string
	token68 string      // empty when absent
	params  [][2]string // name (lower case), value (unquoted)
}

// parseChallenges parses every challenge of the WWW-Authenticate (or
// Proxy-Authenticate) field lines values (RFC 9110 11.6.1,
// 11.7.1): each line is a comma-separated list, and a challenge's
// auth-params are separated by commas too, so a comma followed by
// "token =" continues the challenge and a comma followed by a token
// alone starts the next. It fails on anything the grammar does not allow
// and on more than maxChallenges challenges.
func parseChallenges(values []string) ([]challenge, error) {
	var out []challenge
	for _, v := range values {
		p := &lexer{s: v}
		for {
			p.skipListSeparators()
			if p.done() {
				break
			}
			if len(out) == maxChallenges {
				return nil, fmt.Errorf("httpauth: more than %d challenges", maxChallenges)
			}
			ch, err := p.challenge()
			if err != nil {
				return nil, err
			}
			out = append(out, ch)
			p.skipOWS()
			if !p.done() && p.peek() != ',' {
				return nil, fmt.Errorf("httpauth: unexpected %q after challenge %s", p.peek(), ch.scheme)
			}
		}
	}
	return out, nil
}

// challenge reads one challenge at the lexer's position.
func (p *lexer) challenge() (challenge, error) {
	scheme := p.token()
	if scheme == "" {
		return challenge{}, fmt.Errorf("httpauth: challenge has no scheme at %q", p.rest())
	}
	ch := challenge{scheme: scheme}
	if p.done() || p.peek() == ',' {
		return ch, nil
	}
	if !p.skipSP() {
		return challenge{}, fmt.Errorf("httpauth: no space after scheme %s", scheme)
	}
	if p.done() || p.peek() == ',' {
		return ch, nil
	}
	if t, ok := p.token68(); ok {
		ch.token68 = t
		return ch, nil
	}
	for {
		name, value, err := p.authParam()
		if err != nil {
			return challenge{}, fmt.Errorf("httpauth: challenge %s: %w", scheme, err)
		}
		if len(ch.params) == maxParams {
			return challenge{}, fmt.Errorf("httpauth: challenge %s has more than %d parameters", scheme, maxParams)
		}
		ch.params = append(ch.params, [2]string{name, value})
		if !p.moreParams() {
			return ch, nil
		}
	}
}

// parseCredentials parses an Authorization (or Proxy-Authorization)
// field value of a Negotiate or NTLM client (RFC 9110 11.6.2,
// RFC 4559 4.2): the scheme, one space, and a base64 token of at most
// maxToken bytes. The size is checked before the token is decoded.
func parseCredentials(v string, maxToken int) (scheme string, token []byte, err error) {
	p := &lexer{s: v}
	p.skipOWS()
	scheme = p.token()
	if scheme == "" {
		return "", nil, errMalformed
	}
	sp := p.skipSP()
	if p.done() {
		return scheme, nil, errNoToken
	}
	if !sp {
		// The scheme runs into something that is not a token: "0/000".
		return scheme, nil, errMalformed
	}
	rest := strings.TrimRight(p.rest(), " \t")
	if len(rest) > base64.StdEncoding.EncodedLen(maxToken) {
		return scheme, nil, errTooLarge
	}
	q := &lexer{s: rest}
	t, ok := q.token68()
	if !ok || !q.done() {
		return scheme, nil, errMalformed
	}
	token, err = base64.StdEncoding.Strict().DecodeString(t)
	if err != nil {
		return scheme, nil, errBase64
	}
	if len(token) > maxToken {
		// Within the encoded size of the limit, but past it decoded.
		return scheme, nil, errTooLarge
	}
	if len(token) == 0 {
		return scheme, nil, errNoToken
	}
	return scheme, token, nil
}

// formatChallenge returns ch as a header value (the canonical form).
func formatChallenge(ch challenge) string {
	var b strings.Builder
	b.WriteString(ch.scheme)
	switch {
	case ch.token68 != "":
		b.WriteByte(' ')
		b.WriteString(ch.token68)
	case len(ch.params) > 0:
		for i, kv := range ch.params {
			if i == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteString(", ")
			}
			b.WriteString(kv[0])
			b.WriteByte('=')
			b.WriteString(quote(kv[1]))
		}
	}
	return b.String()
}

// quote returns s as a quoted-string (RFC 9110 5.6.4).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// encodeToken returns the header value "scheme base64(token)", or the
// scheme alone for an empty token.
func encodeToken(scheme string, token []byte) string {
	if len(token) == 0 {
		return scheme
	}
	return scheme + " " + base64.StdEncoding.EncodeToString(token)
}

// lexer reads the tokens of RFC 9110 5.6 from a field value.
type lexer struct {
	s string
	i int
}

func (p *lexer) done() bool    { return p.i >= len(p.s) }
func (p *lexer) peek() byte    { return p.s[p.i] }
func (p *lexer) rest() string  { return p.s[p.i:] }
func isOWS(c byte) bool        { return c == ' ' || c == '\t' }
func (p *lexer) skipOWS() bool { return p.skip(isOWS) }

// skipSP skips spaces (and tabs, which senders should not use there but
// do) and reports whether there were any.
func (p *lexer) skipSP() bool { return p.skip(isOWS) }

func (p *lexer) skip(f func(byte) bool) bool {
	start := p.i
	for !p.done() && f(p.peek()) {
		p.i++
	}
	return p.i > start
}

// skipListSeparators skips the OWS and commas between list elements
// (RFC 9110 5.6.1: empty elements are allowed and ignored).
func (p *lexer) skipListSeparators() {
	p.skip(func(c byte) bool { return isOWS(c) || c == ',' })
}

// token reads a token (RFC 9110 5.6.2); empty if there is none.
func (p *lexer) token() string {
	start := p.i
	p.skip(isTchar)
	return p.s[start:p.i]
}

// token68 reads a token68 (RFC 9110 11.2) if one stands at the position
// and is followed only by OWS and then the end or a comma; otherwise it
// leaves the position alone (the text is auth-params).
func (p *lexer) token68() (string, bool) {
	start := p.i
	p.skip(isToken68Char)
	if p.i == start {
		return "", false
	}
	p.skip(func(c byte) bool { return c == '=' })
	t := p.s[start:p.i]
	p.skipOWS()
	if p.done() || p.peek() == ',' {
		return t, true
	}
	p.i = start
	return "", false
}

// authParam reads name BWS "=" BWS ( token / quoted-string ).
func (p *lexer) authParam() (name, value string, err error) {
	name = p.token()
	if name == "" {
		return "", "", fmt.Errorf("expected a parameter name at %q", p.rest())
	}
	p.skipOWS()
	if p.done() || p.peek() != '=' {
		return "", "", fmt.Errorf("parameter %s has no value", name)
	}
	p.i++
	p.skipOWS()
	if !p.done() && p.peek() == '"' {
		value, err = p.quotedString()
		if err != nil {
			return "", "", err
		}
	} else if value = p.token(); value == "" {
		return "", "", fmt.Errorf("parameter %s has no value", name)
	}
	return strings.ToLower(name), value, nil
}

// quotedString reads a quoted-string and returns its content.
func (p *lexer) quotedString() (string, error) {
	p.i++ // the opening quote
	var b strings.Builder
	for !p.done() {
		c := p.peek()
		p.i++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\':
			if p.done() {
				return "", errors.New("quoted-string ends in a backslash")
			}
			q := p.peek()
			if !isQuotedPairChar(q) {
				return "", fmt.Errorf("invalid quoted-pair %q", q)
			}
			b.WriteByte(q)
			p.i++
		case isQdtext(c):
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("invalid byte %#x in quoted-string", c)
		}
	}
	return "", errors.New("unterminated quoted-string")
}

// moreParams consumes the separator before another auth-param of the same
// challenge and reports whether one follows: a comma, then a token, then
// BWS and "=". Otherwise it leaves the position at the comma (or the end).
func (p *lexer) moreParams() bool {
	save := p.i
	p.skipOWS()
	if p.done() || p.peek() != ',' {
		p.i = save
		return false
	}
	p.skipListSeparators()
	q := *p
	if q.token() == "" {
		p.i = save
		return false
	}
	q.skipOWS()
	if q.done() || q.peek() != '=' {
		p.i = save
		return false
	}
	return true
}

// isTchar reports whether c is a tchar (RFC 9110 5.6.2).
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isToken68Char reports whether c may appear in a token68 before its
// trailing "=" (RFC 9110 11.2).
func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// isQdtext reports whether c is qdtext (RFC 9110 5.6.4), obs-text
// included.
func isQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x5b) || (0x5d <= c && c <= 0x7e) || c >= 0x80
}

// isQuotedPairChar reports whether c may follow a backslash.
func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || (0x21 <= c && c <= 0x7e) || c >= 0x80
}
