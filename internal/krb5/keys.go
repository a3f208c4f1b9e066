package krb5

import (
	cryptorand "crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	gkcrypto "github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"

	"github.com/opensspi/sspi/internal/krb5/kcrypto"
)

// EType is a Kerberos encryption type (RFC 3961 8, IANA "Kerberos
// Encryption Type Numbers").
type EType int32

// Encryption types this package implements.
const (
	AES128SHA1   EType = 17 // aes128-cts-hmac-sha1-96 (RFC 3962)
	AES256SHA1   EType = 18 // aes256-cts-hmac-sha1-96 (RFC 3962)
	AES128SHA256 EType = 19 // aes128-cts-hmac-sha256-128 (RFC 8009)
	AES256SHA384 EType = 20 // aes256-cts-hmac-sha384-192 (RFC 8009)
	RC4HMAC      EType = 23 // arcfour-hmac (RFC 4757); only if configured
)

// etypeNull is the "null" encryption of an unencrypted KRB-CRED enc-part
// (RFC 4120 5.8.1 permits it; MIT and Heimdal send it).
const etypeNull EType = 0

// DefaultETypes is the order in which this package prefers encryption
// types when no configuration says otherwise: MIT 1.20's default minus
// the weak and deprecated types.
var DefaultETypes = []EType{AES256SHA1, AES128SHA1, AES256SHA384, AES128SHA256}

var etypeNames = map[EType]string{
	AES128SHA1:   "aes128-cts-hmac-sha1-96",
	AES256SHA1:   "aes256-cts-hmac-sha1-96",
	AES128SHA256: "aes128-cts-hmac-sha256-128",
	AES256SHA384: "aes256-cts-hmac-sha384-192",
	RC4HMAC:      "arcfour-hmac",
}

// String returns MIT's name of e, such as "aes256-cts-hmac-sha1-96".
func (e EType) String() string {
	if n, ok := etypeNames[e]; ok {
		return n
	}
	return fmt.Sprintf("etype(%d)", int32(e))
}

// Supported reports whether this package implements e.
func (e EType) Supported() bool {
	_, ok := etypeNames[e]
	return ok
}

// impl returns gokrb5's implementation of e.
func (e EType) impl() (etype.EType, error) {
	if !e.Supported() {
		return nil, fmt.Errorf("krb5: unsupported encryption type %v", e)
	}
	return gkcrypto.GetEtype(int32(e))
}

// keySize is the length of a key of type e in bytes.
func (e EType) keySize() int {
	switch e {
	case AES128SHA1, AES128SHA256, RC4HMAC:
		return 16
	case AES256SHA1, AES256SHA384:
		return 32
	}
	return 0
}

// ChecksumType is a Kerberos checksum type (RFC 3961 8).
type ChecksumType int32

// Checksum types (RFC 3961 8, RFC 4121 4.1.1). Only the keyed types are
// ever verified; the unkeyed ones are named so that errors can say what
// was refused.
const (
	ChecksumCRC32           ChecksumType = 1    // unkeyed
	ChecksumRSAMD5          ChecksumType = 7    // unkeyed
	ChecksumSHA1            ChecksumType = 14   // unkeyed
	ChecksumHMACSHA1AES128  ChecksumType = 15   // hmac-sha1-96-aes128 (RFC 3962)
	ChecksumHMACSHA1AES256  ChecksumType = 16   // hmac-sha1-96-aes256 (RFC 3962)
	ChecksumHMACSHA256AES   ChecksumType = 19   // hmac-sha256-128-aes128 (RFC 8009)
	ChecksumHMACSHA384AES   ChecksumType = 20   // hmac-sha384-192-aes256 (RFC 8009)
	ChecksumHMACMD5         ChecksumType = -138 // KERB_CHECKSUM_HMAC_MD5 (RFC 4757)
	ChecksumGSS             ChecksumType = 0x8003
	checksumTypeUnspecified ChecksumType = 0
)

// checksumForEType is the mandatory keyed checksum of each encryption
// type (RFC 3961 4, RFC 3962 7, RFC 8009 8, RFC 4757 4).
var checksumForEType = map[EType]ChecksumType{
	AES128SHA1:   ChecksumHMACSHA1AES128,
	AES256SHA1:   ChecksumHMACSHA1AES256,
	AES128SHA256: ChecksumHMACSHA256AES,
	AES256SHA384: ChecksumHMACSHA384AES,
	RC4HMAC:      ChecksumHMACMD5,
}

// Key is an encryption key (EncryptionKey, RFC 4120 5.2.9): a session
// key, a subkey or a long-term key. Its bytes never print: String,
// GoString, Format and LogValue show only the type, and a Key nested in
// another value prints as a pointer. The zero Key is "no key".
type Key struct {
	m *keyMaterial
}

type keyMaterial struct {
	etype EType
	value []byte // buf[:n]
	buf   [maxKeyLength]byte

	// pool keeps the usage keys (kcrypto) of finished operations for the
	// next ones: a service key decrypts every ticket, and a cached
	// ticket's session key makes an authenticator for every context,
	// each with the same usages, whose derivation would otherwise be
	// most of their cost. Destroy closes them.
	mu        sync.Mutex
	pool      []*kcrypto.UsageKey
	destroyed bool
}

// maxPooledUsageKeys bounds the usage keys a key keeps (a few usages,
// a few of each for concurrent operations).
const maxPooledUsageKeys = 8

// NewKey returns a key of type e with a copy of value. It checks the
// length for the types this package implements.
func NewKey(e EType, value []byte) (Key, error) {
	if n := e.keySize(); n != 0 && len(value) != n {
		return Key{}, fmt.Errorf("krb5: %v key must be %d bytes, not %d", e, n, len(value))
	}
	if len(value) == 0 || len(value) > maxKeyLength {
		return Key{}, fmt.Errorf("krb5: key of %d bytes", len(value))
	}
	m := &keyMaterial{etype: e}
	m.value = m.buf[:len(value)]
	copy(m.value, value)
	return Key{m}, nil
}

// maxKeyLength bounds a key's value (the longest this package implements
// is 32 bytes).
const maxKeyLength = 64

// GenerateKey returns a fresh random key of type e, such as a subkey
// (RFC 4121 4.1.1). For every type this package implements,
// random-to-key is the identity on key-size random bytes (RFC 3962 6,
// RFC 8009 3, RFC 4757). A nil rand means crypto/rand.Reader.
func GenerateKey(e EType, rand io.Reader) (Key, error) {
	n := e.keySize()
	if n == 0 {
		return Key{}, fmt.Errorf("krb5: unsupported encryption type %v", e)
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	m := &keyMaterial{etype: e}
	m.value = m.buf[:n]
	if _, err := io.ReadFull(rand, m.value); err != nil {
		clear(m.value)
		return Key{}, fmt.Errorf("krb5: generating a key: %w", err)
	}
	return Key{m}, nil
}

// StringToKey derives the long-term key of type e from a password, a salt
// and string-to-key parameters (RFC 3961 3; nil params = the type's
// default). Iteration counts above MIT's limit (2^24) are refused, so a
// hostile KDC cannot make the caller spin.
func StringToKey(e EType, password, salt string, params []byte) (Key, error) {
	et, err := e.impl()
	if err != nil {
		return Key{}, err
	}
	p := et.GetDefaultStringToKeyParams()
	if params != nil {
		switch e {
		case AES128SHA1, AES256SHA1, AES128SHA256, AES256SHA384:
			if len(params) != 4 {
				return Key{}, errors.New("krb5: string-to-key parameters are not a 4-byte iteration count")
			}
			n := uint32(params[0])<<24 | uint32(params[1])<<16 | uint32(params[2])<<8 | uint32(params[3])
			if n == 0 || n > 1<<24 {
				return Key{}, fmt.Errorf("krb5: string-to-key iteration count %d out of range", n)
			}
		default:
			if len(params) != 0 {
				return Key{}, fmt.Errorf("krb5: %v takes no string-to-key parameters", e)
			}
		}
		p = hex.EncodeToString(params)
	}
	b, err := et.StringToKey(password, salt, p)
	if err != nil {
		return Key{}, fmt.Errorf("krb5: string-to-key: %w", err)
	}
	k, err := NewKey(e, b)
	clear(b)
	return k, err
}

// defaultSalt is the salt of a principal without an explicit one: the
// realm followed by the components (RFC 4120 4).
func defaultSalt(p Principal) string {
	return p.Realm + strings.Join(p.Components, "")
}

// EType returns the key's encryption type (0 for the zero Key).
func (k Key) EType() EType {
	if k.m == nil {
		return 0
	}
	return k.m.etype
}

// Bytes returns a copy of the key's value. The caller owns a secret.
func (k Key) Bytes() []byte {
	if k.m == nil {
		return nil
	}
	return append([]byte(nil), k.m.value...)
}

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k.m == nil }

// Equal reports in constant time whether k and o are the same key.
func (k Key) Equal(o Key) bool {
	if k.m == nil || o.m == nil {
		return k.m == o.m
	}
	return k.m.etype == o.m.etype && subtle.ConstantTimeCompare(k.m.value, o.m.value) == 1
}

// Destroy overwrites the key's bytes with zeros; every copy of k then
// holds a zero key.
func (k Key) Destroy() {
	if k.m == nil {
		return
	}
	k.m.mu.Lock()
	pool := k.m.pool
	k.m.pool, k.m.destroyed = nil, true
	clear(k.m.value)
	k.m.mu.Unlock()
	for _, u := range pool {
		u.Close()
	}
}

// String shows the type of the key, never its bytes.
func (k Key) String() string {
	if k.m == nil {
		return "krb5.Key(none)"
	}
	return "krb5.Key(" + k.m.etype.String() + ", redacted)"
}

// GoString is String: %#v must not print the key either.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb, so %x and %s cannot show the key.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue shows the type of the key, never its bytes.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("etype", k.EType().String()), slog.String("value", "redacted"))
}

// Key usage numbers (RFC 4120 7.5.1, MS-PAC 2.8).
const (
	usageASReqTimestamp   = 1  // PA-ENC-TIMESTAMP
	usageTicket           = 2  // EncTicketPart
	usageASRep            = 3  // EncASRepPart, client key
	usageTGSReqAuthCksum  = 6  // PA-TGS-REQ authenticator checksum of the req-body
	usageTGSReqAuth       = 7  // PA-TGS-REQ authenticator
	usageTGSRepSessionKey = 8  // EncTGSRepPart, TGS session key
	usageTGSRepSubkey     = 9  // EncTGSRepPart, authenticator subkey
	usageAPReqAuth        = 11 // AP-REQ authenticator
	usageAPRep            = 12 // EncAPRepPart
	usageKRBCred          = 14 // EncKrbCredPart
	usagePACChecksum      = 17 // PAC signatures (KERB_NON_KERB_CKSUM_SALT)
)

// minCiphertext is the shortest ciphertext of each type: confounder and
// integrity tag, for an empty plaintext.
func minCiphertext(e EType) int {
	switch e {
	case AES128SHA1, AES256SHA1:
		return 16 + 12
	case AES128SHA256:
		return 16 + 16
	case AES256SHA384:
		return 16 + 24
	case RC4HMAC:
		return 8 + 16
	}
	return 0
}

// Maximum size of any ciphertext this package decrypts.
const maxCiphertext = 1 << 20

// usageKey returns the keys of k for usage from kcrypto, the fast
// implementation of the AES types, or nil for another type (RC4-HMAC,
// which gokrb5 implements).
// The caller gives it back with putUsageKey.
func (k Key) usageKey(usage uint32) (*kcrypto.UsageKey, error) {
	e := kcrypto.EType(k.m.etype)
	if !e.Supported() {
		return nil, nil
	}
	m := k.m
	m.mu.Lock()
	for i := len(m.pool) - 1; i >= 0; i-- {
		if u := m.pool[i]; u.Usage() == usage {
			last := len(m.pool) - 1
			m.pool[i], m.pool[last] = m.pool[last], nil
			m.pool = m.pool[:last]
			m.mu.Unlock()
			return u, nil
		}
	}
	m.mu.Unlock()
	return kcrypto.NewUsageKey(e, m.value, usage)
}

// putUsageKey returns a usage key of k, after an operation, for the next
// one; it closes it if k is destroyed or keeps enough.
func (k Key) putUsageKey(u *kcrypto.UsageKey) {
	m := k.m
	m.mu.Lock()
	if !m.destroyed && len(m.pool) < maxPooledUsageKeys {
		m.pool = append(m.pool, u)
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	u.Close()
}

// encrypt encrypts plaintext under k for usage (RFC 3961 5.3).
func (k Key) encrypt(usage uint32, plaintext []byte) ([]byte, error) {
	if k.m == nil {
		return nil, errors.New("krb5: no key")
	}
	if u, err := k.usageKey(usage); u != nil || err != nil {
		if err != nil {
			return nil, fmt.Errorf("krb5: encrypting: %w", err)
		}
		defer k.putUsageKey(u)
		return u.Encrypt(cryptorand.Reader, nil, plaintext)
	}
	et, err := k.m.etype.impl()
	if err != nil {
		return nil, err
	}
	_, ct, err := et.EncryptMessage(k.m.value, plaintext, usage)
	if err != nil {
		return nil, fmt.Errorf("krb5: encrypting: %w", err)
	}
	return ct, nil
}

// errIntegrity is the failure of a ciphertext's integrity check (the
// KRB_AP_ERR_BAD_INTEGRITY of RFC 4120 7.5.9).
var errIntegrity = errors.New("krb5: decryption integrity check failed")

// decrypt decrypts and checks ciphertext under k for usage. It checks the
// length first: gokrb5 slices without checking.
func (k Key) decrypt(usage uint32, ciphertext []byte) ([]byte, error) {
	if k.m == nil {
		return nil, errors.New("krb5: no key")
	}
	et, err := k.m.etype.impl()
	if err != nil {
		return nil, err
	}
	if len(ciphertext) < minCiphertext(k.m.etype) || len(ciphertext) > maxCiphertext {
		return nil, errIntegrity
	}
	if u, err := k.usageKey(usage); u != nil || err != nil {
		if err != nil {
			return nil, errIntegrity
		}
		defer k.putUsageKey(u)
		pt, err := u.Decrypt(nil, ciphertext)
		if err != nil {
			return nil, errIntegrity
		}
		return pt, nil
	}
	pt, err := et.DecryptMessage(k.m.value, ciphertext, usage)
	if err != nil {
		return nil, errIntegrity
	}
	return pt, nil
}

// checksum computes the keyed checksum of data under k for usage with the
// key's mandatory checksum type (RFC 3961 4).
func (k Key) checksum(usage uint32, data []byte) (ChecksumType, []byte, error) {
	if k.m == nil {
		return 0, nil, errors.New("krb5: no key")
	}
	if u, err := k.usageKey(usage); u != nil || err != nil {
		if err != nil {
			return 0, nil, fmt.Errorf("krb5: checksum: %w", err)
		}
		defer k.putUsageKey(u)
		return checksumForEType[k.m.etype], u.Checksum(nil, data), nil
	}
	et, err := k.m.etype.impl()
	if err != nil {
		return 0, nil, err
	}
	sum, err := et.GetChecksumHash(k.m.value, data, usage)
	if err != nil {
		return 0, nil, fmt.Errorf("krb5: checksum: %w", err)
	}
	return checksumForEType[k.m.etype], sum, nil
}

// verifyChecksum checks a keyed checksum of data under k. The checksum
// type must be the key's mandatory keyed type: an unkeyed, unknown or
// empty checksum is a failure (MS14-068; go-krb5 PR #147).
func (k Key) verifyChecksum(usage uint32, data []byte, typ ChecksumType, sum []byte) error {
	if k.m == nil {
		return errors.New("krb5: no key")
	}
	want, ok := checksumForEType[k.m.etype]
	if !ok || typ != want {
		return fmt.Errorf("krb5: checksum type %d does not belong to a %v key", typ, k.m.etype)
	}
	_, got, err := k.checksum(usage, data)
	if err != nil {
		return err
	}
	if len(sum) == 0 || subtle.ConstantTimeCompare(got, sum) != 1 {
		return errIntegrity
	}
	return nil
}
