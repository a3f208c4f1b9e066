package krb5

// Tests that need no realm: names, configuration, keytabs, keys,
// checksums, the replay cache, and agreement with gokrb5's decoders on
// the messages this package builds.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gkmsg "github.com/jcmturner/gokrb5/v8/messages"
	gktypes "github.com/jcmturner/gokrb5/v8/types"

	"github.com/opensspi/sspi/secpkg"
)

func TestPrincipalText(t *testing.T) {
	for _, tc := range []struct {
		in    string
		comps []string
		realm string
		typ   NameType
	}{
		{"alice@EXAMPLE.COM", []string{"alice"}, "EXAMPLE.COM", NamePrincipal},
		{"host/www.example.com@EXAMPLE.COM", []string{"host", "www.example.com"}, "EXAMPLE.COM", NamePrincipal},
		{"krbtgt/A.COM@B.COM", []string{"krbtgt", "A.COM"}, "B.COM", NameSrvInst},
		{`a\/b@R`, []string{"a/b"}, "R", NamePrincipal},
		{`a\@b/c@R/S`, []string{"a@b", "c"}, "R/S", NamePrincipal},
		{"alice", []string{"alice"}, "", NamePrincipal},
	} {
		p, err := ParsePrincipal(tc.in)
		if err != nil || !slices.Equal(p.Components, tc.comps) || p.Realm != tc.realm || p.Type != tc.typ {
			t.Errorf("%q: %#v %v", tc.in, p, err)
			continue
		}
		if q, _ := ParsePrincipal(p.String()); !q.Equal(p) {
			t.Errorf("%q: String %q does not parse back", tc.in, p.String())
		}
	}
	for _, bad := range []string{"a@b@c", "a@", `a\`, "a//b@R", strings.Repeat("a/", 20) + "a"} {
		if _, err := ParsePrincipal(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

const testKrb5Conf = `
# a comment
[libdefaults]
	default_realm = EXAMPLE.COM
	clockskew = 2m
	ticket_lifetime = 1d 2h
	forwardable = yes
	enforce_ok_as_delegate = true
	udp_preference_limit = 1
	permitted_enctypes = aes -aes128-cts DEFAULT
	default_tgs_enctypes = aes128-sha2, aes256-sha2 rc4
	default_tkt_enctypes = 17 camellia256-cts-cmac
; another comment

[realms]
	EXAMPLE.COM = {
		kdc = kdc1.example.com
		kdc = tcp/kdc2.example.com:750
		kdc = [2001:db8::1]:88
		kdc = 2001:db8::2
		admin_server = kdc1.example.com
		v4_instance_convert = {
			kerberos = kerberos
		}
	}
	OTHER.COM = {
		kdc = udp/10.0.0.1:8888
	}

[domain_realm]
	.example.com = EXAMPLE.COM
	example.com = EXAMPLE.COM
	host.other.example.com = OTHER.COM
	.dept.example.com = OTHER.COM

[capaths]
	EXAMPLE.COM = {
		OTHER.COM = .
	}
`

func TestConfigParse(t *testing.T) {
	c, err := ParseConfig([]byte(testKrb5Conf))
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultRealm != "EXAMPLE.COM" || c.ClockSkew != 2*time.Minute || c.TicketLifetime != 26*time.Hour ||
		!c.Forwardable || !c.EnforceOKAsDelegate || c.UDPPreferenceLimit != 1 {
		t.Errorf("libdefaults %+v", c)
	}
	// "aes" minus aes128-cts, then DEFAULT adds it back at the end.
	if want := []EType{AES256SHA1, AES256SHA384, AES128SHA256, AES128SHA1}; !slices.Equal(c.PermittedETypes, want) {
		t.Errorf("permitted %v", c.PermittedETypes)
	}
	// rc4 is asked for but not permitted; camellia is unknown to us.
	if got := c.requested(c.DefaultTGSETypes); !slices.Equal(got, []EType{AES128SHA256, AES256SHA384}) {
		t.Errorf("tgs etypes %v", got)
	}
	if !slices.Equal(c.DefaultTktETypes, []EType{AES128SHA1}) {
		t.Errorf("tkt etypes %v", c.DefaultTktETypes)
	}
	kdcs, _ := c.KDCs("EXAMPLE.COM")
	want := []KDCAddr{{Addr: "kdc1.example.com:88"}, {Addr: "kdc2.example.com:750", TCPOnly: true}, {Addr: "[2001:db8::1]:88"}, {Addr: "[2001:db8::2]:88"}}
	if !slices.Equal(kdcs, want) {
		t.Errorf("KDCs %v", kdcs)
	}
	if kdcs, _ := c.KDCs("OTHER.COM"); len(kdcs) != 1 || !kdcs[0].UDPOnly {
		t.Errorf("OTHER KDCs %v", kdcs)
	}
	if _, err := c.KDCs("NOWHERE"); err == nil {
		t.Error("KDCs of an unknown realm")
	}
	for host, want := range map[string]string{
		"www.example.com": "EXAMPLE.COM", "example.com": "EXAMPLE.COM", "host.other.example.com": "OTHER.COM",
		"a.dept.example.com": "OTHER.COM", "WWW.EXAMPLE.COM.": "EXAMPLE.COM", "example.org": "",
	} {
		if got, _ := c.RealmOfHost(host); got != want {
			t.Errorf("RealmOfHost(%s) = %q, want %q", host, got, want)
		}
	}
	for name, want := range map[string]string{
		"host@www.example.com":             "host/www.example.com@EXAMPLE.COM",
		"HTTP@WWW.Example.COM":             "HTTP/www.example.com@EXAMPLE.COM",
		"host/a.dept.example.com":          "host/a.dept.example.com@OTHER.COM",
		"host@www.example.org":             "host/www.example.org@EXAMPLE.COM", // default realm; the KDC may refer
		"cifs/srv.example.com@ELSEWHERE.X": "cifs/srv.example.com@ELSEWHERE.X",
	} {
		p, err := c.ServicePrincipal(name)
		if err != nil || p.String() != want || (p.Type != NameSrvHst) {
			t.Errorf("ServicePrincipal(%s) = %v (%v), %v", name, p, p.Type, err)
		}
	}
	for _, bad := range []string{"host", "@host", "host@", "a/b/c", "host@a@b"} {
		if _, err := c.ServicePrincipal(bad); err == nil {
			t.Errorf("ServicePrincipal(%q) accepted", bad)
		}
	}
	if !c.MayDelegate(FlagOKAsDelegate|FlagForwardable) || c.MayDelegate(FlagForwardable) {
		t.Error("MayDelegate")
	}
	if (&Config{}).clockSkew() != 5*time.Minute || !(&Config{}).MayDelegate(0) {
		t.Error("zero Config defaults")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, text := range map[string]string{
		"relation outside a section": "a = b\n",
		"unterminated subsection":    "[realms]\nX = {\nkdc = a\n",
		"unmatched brace":            "[realms]\n}\n",
		"bad boolean":                "[libdefaults]\nforwardable = maybe\n",
		"bad duration":               "[libdefaults]\nclockskew = 5 fortnights\n",
		"include in bytes":           "include /etc/krb5.conf\n",
		"KDC proxy":                  "[realms]\nX = {\nkdc = https://kdc.example.com/KdcProxy\n}\n",
		"bad port":                   "[realms]\nX = {\nkdc = a:99999\n}\n",
		"deep nesting":               "[s]\n" + strings.Repeat("a = {\n", 20) + strings.Repeat("}\n", 20),
	} {
		if _, err := ParseConfig([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for v, want := range map[string]time.Duration{"300": 300 * time.Second, "1:30": 90 * time.Minute, "1:00:05": time.Hour + 5*time.Second, "2d": 48 * time.Hour, "1h30m": 90 * time.Minute} {
		if got, err := parseDuration(v); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", v, got, err)
		}
	}
}

func TestLoadConfigFiles(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(inc, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "first.conf"), "[libdefaults]\n\tdefault_realm = FIRST\n\tclockskew = 60\n\ninclude "+filepath.Join(dir, "inc.conf")+"\nincludedir "+inc+"\n")
	write(filepath.Join(dir, "inc.conf"), "[realms]\n\tFIRST = {\n\t\tkdc = k1\n\t}\n")
	write(filepath.Join(inc, "extra.conf"), "[realms]\n\tFIRST = {\n\t\tkdc = k2\n\t}\n")
	write(filepath.Join(inc, "ignored~"), "[libdefaults]\n\tdefault_realm = WRONG\n")
	write(filepath.Join(dir, "second.conf"), "[libdefaults]\n\tdefault_realm = SECOND\n\tforwardable = true\n")
	t.Setenv("KRB5_CONFIG", filepath.Join(dir, "first.conf")+":"+filepath.Join(dir, "missing.conf")+":"+filepath.Join(dir, "second.conf"))
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	// The first file wins for single values; lists gather.
	kdcs, _ := c.KDCs("FIRST")
	if c.DefaultRealm != "FIRST" || c.ClockSkew != time.Minute || !c.Forwardable || len(kdcs) != 2 {
		t.Fatalf("%+v %v", c, kdcs)
	}
	if _, err := LoadConfig(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("no file: accepted")
	}
}

// testKeytab builds a keytab file by hand, as MIT's kadmin writes one,
// with optional 32-bit kvno tails and holes.
func testKeytabEntry(p Principal, vno8 uint8, vno32 *uint32, etype EType, key []byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Components)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Realm)))
	b = append(b, p.Realm...)
	for _, c := range p.Components {
		b = binary.BigEndian.AppendUint16(b, uint16(len(c)))
		b = append(b, c...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(p.Type))
	b = binary.BigEndian.AppendUint32(b, 1700000000)
	b = append(b, vno8)
	b = binary.BigEndian.AppendUint16(b, uint16(etype))
	b = binary.BigEndian.AppendUint16(b, uint16(len(key)))
	b = append(b, key...)
	if vno32 != nil {
		b = binary.BigEndian.AppendUint32(b, *vno32)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func TestKeytabParse(t *testing.T) {
	p := NewPrincipal(NameSrvHst, "EXAMPLE.COM", "host", "a.example.com")
	k1 := bytes.Repeat([]byte{1}, 32)
	k2 := bytes.Repeat([]byte{2}, 32)
	k3 := bytes.Repeat([]byte{3}, 16)
	v300 := uint32(300)
	zero := uint32(0)
	file := []byte{0x05, 0x02}
	file = append(file, testKeytabEntry(p, 1, nil, AES256SHA1, k1)...)              // 8-bit kvno only
	file = append(file, 0xff, 0xff, 0xff, 0xf8, 0, 0, 0, 0, 0, 0, 0, 0)             // a hole of 8 bytes
	file = append(file, testKeytabEntry(p, 300%256, &v300, AES256SHA1, k2)...)      // 32-bit kvno 300
	file = append(file, testKeytabEntry(p, 7, &zero, AES128SHA1, k3)...)            // zero 32-bit: the 8-bit one counts
	file = append(file, testKeytabEntry(p, 9, nil, EType(25), make([]byte, 16))...) // camellia: skipped
	kt, err := ParseKeytab(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(kt.Entries()) != 3 {
		t.Fatalf("entries %v", kt.Entries())
	}
	e, err := kt.Key(p, 0, AES256SHA1) // newest
	if err != nil || e.KVNO != 300 || !bytes.Equal(e.Key.Bytes(), k2) {
		t.Fatalf("newest: %v %v", e, err)
	}
	e, err = kt.Key(p, 257, AES256SHA1) // 8-bit kvno 1 matches 257
	if err != nil || !bytes.Equal(e.Key.Bytes(), k1) {
		t.Fatalf("kvno 257: %v %v", e, err)
	}
	if _, err := kt.Key(p, 44, AES256SHA1); err == nil {
		t.Fatal("kvno 44 found")
	}
	if e, err := kt.Key(p, 7, AES128SHA1); err != nil || !bytes.Equal(e.Key.Bytes(), k3) {
		t.Fatalf("kvno 7: %v %v", e, err)
	}
	if c := kt.candidates(p, 44, AES256SHA1); len(c) != 2 || c[0].KVNO != 300 {
		t.Fatalf("candidates for an unknown kvno: %v", c)
	}
	// Round trip through our writer.
	again, err := ParseKeytab(kt.Marshal())
	if err != nil || len(again.Entries()) != 3 || !again.Entries()[1].Key.Equal(kt.Entries()[1].Key) {
		t.Fatalf("round trip: %v %v", again, err)
	}
	// A truncation parses only where an entry ends; anywhere else it is
	// an error.
	ends := map[int]bool{2: true}
	at := 2
	for at < len(file) {
		n := int(int32(binary.BigEndian.Uint32(file[at:])))
		at += 4 + max(n, -n)
		ends[at] = true
	}
	for n := 0; n < len(file); n++ {
		if _, err := ParseKeytab(file[:n]); (err == nil) != ends[n] {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	for name, b := range map[string][]byte{
		"version 0x0501": {0x05, 0x01},
		"size past end":  {0x05, 0x02, 0x7f, 0xff, 0xff, 0xff},
		"hole past end":  {0x05, 0x02, 0x80, 0x00, 0x00, 0x01},
		"hole min int":   {0x05, 0x02, 0x80, 0x00, 0x00, 0x00},
		"no components":  append([]byte{5, 2, 0, 0, 0, 4}, 0, 0, 0, 0),
		"empty":          {},
	} {
		if _, err := ParseKeytab(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKeyRedaction(t *testing.T) {
	secret := bytes.Repeat([]byte{0xab}, 32)
	k, err := NewKey(AES256SHA1, secret)
	if err != nil {
		t.Fatal(err)
	}
	cred := &Credential{Client: NewPrincipal(NamePrincipal, "R", "alice"), SessionKey: k}
	kt := &Keytab{}
	kt.Add(cred.Client, 1, k, time.Now())
	acc := &AcceptedAPReq{SessionKey: k, Subkey: k}
	req := &APReq{SessionKey: k, Subkey: k}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", k, "cred", cred, "kt", kt)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", k, "cred", cred)
	out := fmt.Sprintf("%v %+v %#v %s %x %X %q %v %+v %#v %v %v %v %v", k, k, k, k, k, k, k, cred, cred, cred, kt, kt.Entries(), acc, req) + logged.String()
	out += fmt.Sprintf("%+v %#v", struct{ K Key }{k}, struct{ k Key }{k})
	for _, enc := range []string{"abababab", "ABABABAB", "\xab\xab\xab\xab", "q6urq6ur"} {
		if strings.Contains(out, enc) {
			t.Fatalf("key bytes printed: %s", out)
		}
	}
	if !strings.Contains(out, "redacted") {
		t.Fatalf("no redaction marker: %s", out)
	}
	k.Destroy()
	if !bytes.Equal(k.Bytes(), make([]byte, 32)) {
		t.Fatal("Destroy left the key")
	}
}

func TestKeyChecksLengths(t *testing.T) {
	for _, e := range []EType{AES128SHA1, AES256SHA1, AES128SHA256, AES256SHA384, RC4HMAC} {
		if _, err := NewKey(e, make([]byte, e.keySize()+1)); err == nil {
			t.Errorf("%v: wrong length accepted", e)
		}
		k, err := GenerateKey(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		for n := range minCiphertext(e) + 2 {
			if _, err := k.decrypt(usageAPRep, make([]byte, n)); err == nil {
				t.Fatalf("%v: %d zero bytes decrypted", e, n)
			}
		}
		ct, err := k.encrypt(usageAPRep, nil)
		if err != nil || len(ct) != minCiphertext(e) {
			t.Fatalf("%v: empty plaintext gives %d bytes, %v", e, len(ct), err)
		}
		if pt, err := k.decrypt(usageAPRep, ct); err != nil || len(pt) != 0 {
			t.Fatalf("%v: %v", e, err)
		}
		if _, err := k.decrypt(usageAPReqAuth, ct); err == nil {
			t.Fatalf("%v: decrypted with another usage", e)
		}
	}
	// Iteration counts out of range are refused before any work.
	for _, p := range [][]byte{{0, 0, 0, 0}, {0x01, 0x00, 0x00, 0x01}, {1, 2, 3}} {
		if _, err := StringToKey(AES256SHA1, "pw", "salt", p); err == nil {
			t.Errorf("s2kparams %x accepted", p)
		}
	}
	// RFC 3962 appendix B: password "password", salt "ATHENA.MIT.EDUraeburn", 1200 iterations.
	k, err := StringToKey(AES128SHA1, "password", "ATHENA.MIT.EDUraeburn", []byte{0, 0, 0x04, 0xb0})
	if err != nil || fmt.Sprintf("%x", k.Bytes()) != "4c01cd46d632d01e6dbe230a01ed642a" {
		t.Fatalf("RFC 3962 B vector: %x %v", k.Bytes(), err)
	}
}

// TestKeyUsagePool: the usage keys a Key keeps between operations give
// the results fresh ones give, under concurrent use (run with -race), for
// each AES type; after Destroy the key decrypts nothing it encrypted.
func TestKeyUsagePool(t *testing.T) {
	for _, e := range DefaultETypes {
		k, err := GenerateKey(e, nil)
		if err != nil {
			t.Fatal(e, err)
		}
		fresh, _ := NewKey(e, k.Bytes())
		done := make(chan error, 8)
		for g := 0; g < 8; g++ {
			go func() {
				for i := 0; i < 50; i++ {
					msg := []byte(fmt.Sprintf("message %d of %d", i, g))
					usage := uint32(11 + i%3)
					ct, err := k.encrypt(usage, msg)
					if err != nil {
						done <- err
						return
					}
					pt, err := fresh.decrypt(usage, ct)
					if err != nil || !bytes.Equal(pt, msg) {
						done <- fmt.Errorf("%v usage %d: %q, %v", e, usage, pt, err)
						return
					}
					if _, err := k.decrypt(usage+1, ct); err == nil {
						done <- fmt.Errorf("%v: decrypted under another usage", e)
						return
					}
					_, sum, _ := k.checksum(17, msg)
					if err := fresh.verifyChecksum(17, msg, checksumForEType[e], sum); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
		}
		for g := 0; g < 8; g++ {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if n := len(k.m.pool); n == 0 || n > maxPooledUsageKeys {
			t.Fatalf("%v: %d pooled usage keys", e, n)
		}
		ct, _ := k.encrypt(11, []byte("secret"))
		k.Destroy()
		if len(k.m.pool) != 0 {
			t.Fatalf("%v: usage keys kept after Destroy", e)
		}
		if _, err := k.decrypt(11, ct); err == nil {
			t.Fatalf("%v: a destroyed key still decrypts", e)
		}
	}
}

func TestVerifyChecksumRefusesUnkeyed(t *testing.T) {
	k, _ := GenerateKey(AES256SHA1, nil)
	typ, sum, err := k.checksum(usagePACChecksum, []byte("data"))
	if err != nil || typ != ChecksumHMACSHA1AES256 {
		t.Fatal(err)
	}
	if err := k.verifyChecksum(usagePACChecksum, []byte("data"), typ, sum); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		typ ChecksumType
		sum []byte
	}{
		"MD5 (unkeyed)":        {ChecksumRSAMD5, make([]byte, 16)},
		"CRC32 (unkeyed)":      {ChecksumCRC32, make([]byte, 4)},
		"empty":                {typ, nil},
		"truncated":            {typ, sum[:11]},
		"aes128 type":          {ChecksumHMACSHA1AES128, sum},
		"another usage's data": {typ, func() []byte { _, s, _ := k.checksum(usageAPRep, []byte("data")); return s }()},
	} {
		if err := k.verifyChecksum(usagePACChecksum, []byte("data"), tc.typ, tc.sum); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGSSChecksum(t *testing.T) {
	cb := []byte("bindings")
	c := gssChecksum{Bnd: bindingsHash(cb), Flags: GSSMutual | GSSDeleg, Deleg: []byte("KRB-CRED"), Exts: []gssExtension{{Type: 2, Data: []byte{1}}}}
	b := c.marshal()
	if len(b) != 24+4+8+9 || binary.LittleEndian.Uint32(b) != 16 {
		t.Fatalf("%x", b)
	}
	got, err := parseGSSChecksum(b)
	if err != nil || got.Flags != c.Flags || !bytes.Equal(got.Deleg, c.Deleg) || len(got.Exts) != 1 || got.Bnd != c.Bnd {
		t.Fatalf("%+v %v", got, err)
	}
	// RFC 4121 4.1.1.2: an empty application-data binding is not "no
	// bindings": MD5 of 20 zero bytes.
	if bindingsHash(flat(nil)) == ([16]byte{}) || bindingsHash(nil) != ([16]byte{}) {
		t.Fatal("bindings hash")
	}
	// DELEG with no delegation bytes: the flag is cleared (MIT).
	got, err = parseGSSChecksum((&gssChecksum{Flags: GSSDeleg | GSSMutual}).marshal())
	if err != nil || got.Flags != GSSMutual || got.Deleg != nil {
		t.Fatalf("%+v %v", got, err)
	}
	// A zero-length delegation field likewise.
	got, err = parseGSSChecksum(append((&gssChecksum{Flags: GSSDeleg}).marshal(), 1, 0, 0, 0))
	if err != nil || got.Flags != 0 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestMemoryReplayCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := &MemoryReplayCache{Max: 2, Time: func() time.Time { return now }}
	ctx := context.Background()
	a := replayKey(NewPrincipal(1, "R", "alice"), NewPrincipal(3, "R", "host", "h"), now, 5, []byte("ct"))
	b := replayKey(NewPrincipal(1, "R", "alice"), NewPrincipal(3, "R", "host", "h"), now, 6, []byte("ct"))
	// Length prefixes: moving a byte between fields changes the key.
	x := replayKey(NewPrincipal(1, "R", "ab"), NewPrincipal(1, "R", "c"), now, 5, []byte("ct"))
	y := replayKey(NewPrincipal(1, "R", "a"), NewPrincipal(1, "R", "bc"), now, 5, []byte("ct"))
	if a == b || x == y {
		t.Fatal("replay keys collide")
	}
	if err := c.Store(ctx, a, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(ctx, a, now.Add(time.Minute)); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	if err := c.Store(ctx, b, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Full of live entries: refuse (fail closed).
	if err := c.Store(ctx, x, now.Add(time.Minute)); err == nil || errors.Is(err, ErrReplay) {
		t.Fatalf("full cache: %v", err)
	}
	// Once they expire, there is room, and an expired key may return.
	now = now.Add(2 * time.Minute)
	if err := c.Store(ctx, x, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(ctx, a, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func TestAcceptorNeedsReplayCache(t *testing.T) {
	_, err := (&Acceptor{Keytab: &Keytab{}}).VerifyAPReq(context.Background(), nil)
	if secpkg.StatusOf(err) != secpkg.StatusInternalError || !strings.Contains(err.Error(), "replay cache") {
		t.Fatalf("got %v", err)
	}
}

func TestKRBErrorRoundTrip(t *testing.T) {
	svc := NewPrincipal(NameSrvHst, "R.TEST", "host", "h")
	now := time.Date(2026, 1, 2, 3, 4, 5, 678000, time.UTC)
	b := MarshalKRBError(protoErr(APErrRepeat, "detail that must not leak"), svc, now)
	ke, err := ParseKRBError(b)
	if err != nil || ke.Code != APErrRepeat || !ke.Server.Equal(svc) || !ke.ServerTime.Equal(now) || ke.Text != "" {
		t.Fatalf("%+v %v", ke, err)
	}
	if bytes.Contains(b, []byte("detail")) {
		t.Fatal("detail leaked into the KRB-ERROR")
	}
	// An error without a code becomes KRB_AP_ERR_MODIFIED.
	ke, _ = ParseKRBError(MarshalKRBError(errors.New("x"), svc, now))
	if ke.Code != APErrModified {
		t.Fatalf("code %v", ke.Code)
	}
	// gokrb5's decoder reads ours.
	var gk gkmsg.KRBError
	if err := gk.Unmarshal(b); err != nil || gk.ErrorCode != int32(APErrRepeat) || gk.Realm != "R.TEST" {
		t.Fatalf("gokrb5: %+v %v", gk, err)
	}
}

// TestGokrb5ReadsOurMessages decodes what this package builds with
// gokrb5's independent decoders.
func TestGokrb5ReadsOurMessages(t *testing.T) {
	sk, _ := GenerateKey(AES256SHA1, nil)
	client := NewPrincipal(NamePrincipal, "R.TEST", "alice")
	server := NewPrincipal(NameSrvHst, "R.TEST", "host", "h")
	now := time.Now().UTC().Truncate(time.Second)
	enc := encTicketPart{Flags: FlagForwardable | FlagInitial, Key: sk, Client: client, AuthTime: now, EndTime: now.Add(time.Hour)}
	svcKey, _ := GenerateKey(AES256SHA1, nil)
	ed, _ := seal(svcKey, usageTicket, enc.marshal(), 2, true)
	tk := ticket{SName: server, EncPart: ed}
	tk.Raw = tk.marshal()
	cred := &Credential{Client: client, Server: server, Ticket: tk.Raw, SessionKey: sk, Flags: enc.Flags, AuthTime: now, StartTime: now, EndTime: now.Add(time.Hour)}
	tgt := *cred
	tgt.Server = TGSPrincipal("R.TEST", "R.TEST")
	tgtTicket := ticket{SName: tgt.Server, EncPart: ed}
	tgt.Ticket = tgtTicket.marshal()

	req, err := NewAPReq(cred, APReqOptions{Flags: GSSMutual, MutualRequired: true, Delegate: &tgt, Bindings: []byte("cb")})
	if err != nil {
		t.Fatal(err)
	}
	var gr gkmsg.APReq
	if err := gr.Unmarshal(req.Message); err != nil || gr.Ticket.Realm != "R.TEST" || gr.Ticket.EncPart.KVNO != 2 {
		t.Fatalf("gokrb5 AP-REQ: %v", err)
	}
	pt, err := sk.decrypt(usageAPReqAuth, gr.EncryptedAuthenticator.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	var ga gktypes.Authenticator
	if err := ga.Unmarshal(pt); err != nil || ga.CRealm != "R.TEST" || ga.Cksum.CksumType != int32(ChecksumGSS) || ga.SeqNumber != int64(req.SeqNumber) {
		t.Fatalf("gokrb5 authenticator: %+v %v", ga, err)
	}
	kc, _ := MarshalKRBCred(cred, sk, now)
	var gc gkmsg.KRBCred
	if err := gc.Unmarshal(kc); err != nil || len(gc.Tickets) != 1 {
		t.Fatalf("gokrb5 KRB-CRED: %v", err)
	}
	if err := gc.DecryptEncPart(gktypes.EncryptionKey{KeyType: int32(sk.EType()), KeyValue: sk.Bytes()}); err != nil ||
		gc.DecryptedEncPart.TicketInfo[0].PName.PrincipalNameString() != "alice" {
		t.Fatalf("gokrb5 EncKrbCredPart: %v", err)
	}
	acc := AcceptedAPReq{SessionKey: sk, CTime: req.CTime, Cusec: req.Cusec}
	rep, err := acc.NewAPRep(APRepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gp gkmsg.APRep
	if err := gp.Unmarshal(rep.Message); err != nil {
		t.Fatalf("gokrb5 AP-REP: %v", err)
	}
	pt, _ = sk.decrypt(usageAPRep, gp.EncPart.Cipher)
	var ge gkmsg.EncAPRepPart
	if err := ge.Unmarshal(pt); err != nil || ge.SequenceNumber != int64(rep.SeqNumber) || !ge.CTime.Equal(req.CTime) {
		t.Fatalf("gokrb5 EncAPRepPart: %+v %v", ge, err)
	}
	// And our acceptor takes the AP-REQ, delegation and all.
	kt := &Keytab{}
	kt.Add(server, 2, svcKey, now)
	got, err := (&Acceptor{Keytab: kt, ReplayCache: &MemoryReplayCache{}, Bindings: []byte("cb")}).VerifyAPReq(context.Background(), req.Message)
	if err != nil || got.Delegated == nil || got.Bindings != BindingsMatched {
		t.Fatalf("%v %v", got, err)
	}
}

// TestCapturedMessagesReencode: every captured MIT message re-encodes to
// its own bytes: the encoders write DER exactly as MIT does.
func TestCapturedMessagesReencode(t *testing.T) {
	for target, fn := range map[string]func([]byte) ([]byte, error){
		"FuzzAPReq": func(b []byte) ([]byte, error) { var m apReq; err := m.unmarshal(b); return m.marshal(), err },
		"FuzzAPRep": func(b []byte) ([]byte, error) { var m apRep; err := m.unmarshal(b); return m.marshal(), err },
		"FuzzKRBCred": func(b []byte) ([]byte, error) {
			var m krbCred
			err := m.unmarshal(b)
			return m.marshal(), err
		},
		"FuzzKRBError": func(b []byte) ([]byte, error) {
			var m krbError
			err := m.unmarshal(b)
			return m.marshal(), err
		},
		"FuzzKDCRep": func(b []byte) ([]byte, error) {
			var m kdcRep
			mt := msgASRep
			if messageType(b) == tagTGSRep {
				mt = msgTGSRep
			}
			err := m.unmarshal(b, mt)
			return m.marshal(), err
		},
		"FuzzTicket": func(b []byte) ([]byte, error) { tk, err := parseTicket(b); return tk.marshal(), err },
		"FuzzEncParts": func(b []byte) ([]byte, error) {
			switch messageType(b) {
			case tagAuthenticator:
				var m authenticator
				err := m.unmarshal(b)
				return m.marshal(), err
			case tagEncTicketPart:
				var m encTicketPart
				err := m.unmarshal(b)
				return m.marshal(), err
			case tagEncAPRepPart:
				var m encAPRepPart
				err := m.unmarshal(b)
				return m.marshal(), err
			case tagEncKrbCredPart:
				var m encKrbCredPart
				err := m.unmarshal(b)
				return m.marshal(), err
			}
			var m encKDCRepPart
			err := m.unmarshal(b)
			return m.marshal(), err
		},
		"FuzzMethodData": func(b []byte) ([]byte, error) { md, err := parseMethodData(b); return marshalMethodData(md), err },
		"FuzzGSSChecksum": func(b []byte) ([]byte, error) {
			c, err := parseGSSChecksum(b)
			if err != nil {
				return nil, err
			}
			return c.marshal(), nil
		},
	} {
		entries, err := os.ReadDir(filepath.Join("testdata/fuzz", target))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "mit-") {
				continue
			}
			in := seed(t, target, e.Name())
			out, err := fn(in)
			if err != nil || !bytes.Equal(in, out) {
				t.Errorf("%s/%s: re-encodes differently (%v)", target, e.Name(), err)
			}
		}
	}
}

// TestCapturedAPReqsVerify: the captured MIT AP-REQs pass the captured
// acceptor (so FuzzAPReq reaches the code after decryption), and their
// KRB-CRED and AP-REP open with the captured keys.
func TestCapturedAPReqsVerify(t *testing.T) {
	c := loadCaptured(t)
	for _, name := range []string{"mit-ap-req-deleg-cb", "mit-ap-req-plain"} {
		acc := c.acceptor(t)
		acc.Bindings = flat([]byte("cb"))
		got, err := acc.VerifyAPReq(context.Background(), seed(t, "FuzzAPReq", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "mit-ap-req-deleg-cb" && (got.Delegated == nil || got.Bindings != BindingsMatched) {
			t.Fatalf("%s: %v", name, got)
		}
	}
	if _, err := ParseKRBCred(seed(t, "FuzzKRBCred", "mit-krb-cred"), c.key(t, "mit-ap-req-deleg-cb")); err != nil {
		t.Fatal(err)
	}
	req := &APReq{SessionKey: c.key(t, "our-ap-req"), CTime: time.Unix(c.CTime, 0).UTC(), Cusec: c.Cusec}
	if _, err := req.VerifyAPRep(seed(t, "FuzzAPRep", "mit-ap-rep")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mit-kdc-preauth-required", "mit-acceptor-skew"} {
		if _, err := ParseKRBError(seed(t, "FuzzKRBError", name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"mit-kinit-v3", "mit-kinit-v4"} {
		if cc, err := ParseCCache(seed(t, "FuzzCCache", name)); err != nil || cc.TGT() == nil {
			t.Fatalf("%s: %v %v", name, cc, err)
		}
	}
}
