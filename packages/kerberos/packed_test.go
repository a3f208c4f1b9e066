package kerberos

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi/internal/gssframe"
	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/secpkg"
)

// testContexts returns the user-mode halves of a context that expires at
// expiry: the initiator's and the acceptor's, from their packed contexts.
func testContexts(t testing.TB, expiry time.Time) (ini, acc *userContext) {
	t.Helper()
	key := bytes.Repeat([]byte{7}, 32)
	mk := func(initiator bool) *userContext {
		m, err := newMsgState(msgConfig{EType: kcrypto.AES256CTSHMACSHA196, Key: key, Initiator: initiator, AcceptorSubkey: true, SendSeq: 5, RecvSeq: 5, Replay: true, Sequence: true})
		if err != nil {
			t.Fatal(err)
		}
		b := packContext(m, expiry, false)
		uc, err := (&userPackage{}).InitUserModeContext(1, b)
		if err != nil {
			t.Fatal(err)
		}
		return uc.(*userContext)
	}
	return mk(true), mk(false)
}

// TestContextExpires: the user-mode context expires with its ticket
// (SEC_E_CONTEXT_EXPIRED, GSS_S_CONTEXT_EXPIRED), in every message call.
func TestContextExpires(t *testing.T) {
	end := time.Now().Add(time.Hour)
	ini, acc := testContexts(t, end)
	msg := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("hi")}, {Type: secpkg.BufferToken, Data: make([]byte, 64)}}
	if err := ini.MakeSignature(0, msg, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.VerifySignature(msg, 0); err != nil {
		t.Fatal(err)
	}
	defer func() { timeNow = time.Now }()
	timeNow = func() time.Time { return end.Add(time.Second) }
	calls := map[string]func() error{
		"MakeSignature":   func() error { return ini.MakeSignature(0, msg, 0) },
		"VerifySignature": func() error { _, err := acc.VerifySignature(msg, 0); return err },
		"SealMessage":     func() error { return ini.SealMessage(0, msg, 0) },
		"UnsealMessage":   func() error { _, err := acc.UnsealMessage(msg, 0); return err },
		"ExportContext":   func() error { _, err := ini.ExportContext(); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, secpkg.StatusContextExpired) {
			t.Errorf("%s after the ticket's end: %v, want SEC_E_CONTEXT_EXPIRED", name, err)
		}
	}
}

// TestPackedContext: packed contexts round-trip through export and
// import, and every malformation is refused without a panic.
func TestPackedContext(t *testing.T) {
	end := time.Unix(2_000_000_000, 0)
	ini, acc := testContexts(t, end)
	tok := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 80)}, {Type: secpkg.BufferData, Data: []byte("before")}}
	if err := ini.SealMessage(0, tok, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.UnsealMessage(tok, 0); err != nil {
		t.Fatal(err)
	}
	blob, err := ini.ExportContext()
	if err != nil {
		t.Fatal(err)
	}
	if err := ini.MakeSignature(0, tok, 0); !errors.Is(err, secpkg.StatusInvalidHandle) {
		t.Fatalf("the exported context: %v, want SEC_E_INVALID_HANDLE", err)
	}
	// An export is not a mapped context's packed form, nor the reverse.
	if _, err := (&userPackage{}).InitUserModeContext(1, blob); err == nil {
		t.Fatal("an export was taken as a packed context")
	}
	imp, err := (&userPackage{}).ImportContext(2, blob)
	if err != nil {
		t.Fatal(err)
	}
	tok = []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 80)}, {Type: secpkg.BufferData, Data: []byte("after")}}
	if err := imp.SealMessage(0, tok, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.UnsealMessage(tok, 0); err != nil || string(tok[1].Data) != "after" {
		t.Fatalf("after import: %q %v", tok[1].Data, err)
	}
	if got := imp.(*userContext).expiry; !got.Equal(end) {
		t.Fatalf("expiry %v after import", got)
	}
	// The structure is checked; the data is not (the expiry, the key,
	// the sequence numbers: the LSA seals exports in transit, and a
	// mapped context's packed form never leaves its owner).
	data := func(i int) bool {
		return 6 <= i && i < 14 || i >= packHeader+9
	}
	for i := range blob {
		bad := bytes.Clone(blob)
		bad[i] ^= 0x80
		uc, err := (&userPackage{}).ImportContext(3, bad)
		if err == nil {
			uc.DeleteUserModeContext()
			if !data(i) {
				t.Fatalf("byte %d of the export changed: accepted", i)
			}
		}
	}
	for n := range len(blob) {
		if _, err := (&userPackage{}).ImportContext(3, blob[:n]); err == nil {
			t.Fatalf("export cut to %d bytes accepted", n)
		}
	}
}

// FuzzPackedContext: any bytes given to SpInitUserModeContext or
// SpImportSecurityContext give a context or an error, never a panic; a
// context that unpacks packs again to the same bytes.
func FuzzPackedContext(f *testing.F) {
	ini, _ := testContexts(f, time.Unix(2_000_000_000, 0))
	f.Add(packContext(ini.m, ini.expiry, false), false)
	f.Add(packContext(ini.m, time.Time{}, true), true)
	f.Add([]byte("KRBC\x01\x00"), false)
	f.Fuzz(func(t *testing.T, b []byte, exported bool) {
		m, expiry, err := unpackContext(b, exported, nil)
		if err != nil {
			return
		}
		if again := packContext(m, expiry, exported); !bytes.Equal(again, b) {
			t.Fatalf("packed context re-packs differently:\n%x\n%x", b, again)
		}
		m.wipe()
	})
}

// FuzzContextToken: any context token is parsed to a TOK_ID and a body,
// or refused with SEC_E_INVALID_TOKEN; what parses frames again to the
// same bytes (for the standard Kerberos OID).
func FuzzContextToken(f *testing.F) {
	f.Add(frameToken(tokAPReq, []byte{0x6e, 0x00}))
	f.Add(frameToken(tokAPRep, []byte{0x6f, 0x00}))
	f.Add(frameToken(tokKRBError, nil))
	f.Add([]byte{0x60, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, body, err := parseToken(b)
		if err != nil {
			if secpkg.StatusOf(err) != secpkg.StatusInvalidToken {
				t.Fatalf("status %v", secpkg.StatusOf(err))
			}
			return
		}
		if mech, _, _ := gssframe.Parse(b); mech == gssframe.Kerberos && !bytes.Equal(frameToken(id, body), b) {
			t.Fatalf("token re-frames differently")
		}
	})
}

// TestWritePackageFuzzSeeds rewrites the seeds of FuzzPackedContext and
// FuzzContextToken in testdata/fuzz when KERBEROS_WRITE_SEEDS=1 (see
// testdata/fuzz/README.md).
func TestWritePackageFuzzSeeds(t *testing.T) {
	if os.Getenv("KERBEROS_WRITE_SEEDS") != "1" {
		t.Skip("set KERBEROS_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(target, name string, values ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := "go test fuzz v1\n"
		for _, x := range values {
			switch x := x.(type) {
			case bool:
				s += fmt.Sprintf("bool(%v)\n", x)
			case []byte:
				s += fmt.Sprintf("[]byte(%q)\n", x)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// MIT's messages as internal/krb5 captured them, framed as context
	// tokens.
	captured := func(target, name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "internal", "krb5", "testdata", "fuzz", target, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		q := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
		s, err := strconv.Unquote(q)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(s)
	}
	write("FuzzContextToken", "mit-ap-req", frameToken(tokAPReq, captured("FuzzAPReq", "mit-ap-req-plain")))
	write("FuzzContextToken", "mit-ap-rep", frameToken(tokAPRep, captured("FuzzAPRep", "mit-ap-rep")))
	ms := frameToken(tokAPReq, captured("FuzzAPReq", "mit-ap-req-plain"))
	ms[9] = 0x82 // 1.2.840.48018.1.2.2: the Kerberos OID as Windows 2000 misencoded it
	write("FuzzContextToken", "mit-ap-req-ms-oid", ms)
	ini, _ := testContexts(t, time.Unix(2_000_000_000, 0))
	write("FuzzPackedContext", "aes256-mapped", packContext(ini.m, ini.expiry, false), false)
	write("FuzzPackedContext", "aes256-exported-no-expiry", packContext(ini.m, time.Time{}, true), true)
}

// FuzzUnpackPassword: the password a NewCredentials logon keeps in its
// session decodes to what was packed, and any other bytes decode or fail
// without a panic.
func FuzzUnpackPassword(f *testing.F) {
	conf, err := krb5.ParseConfig([]byte("[libdefaults]\n default_realm = EXAMPLE.COM\n"))
	if err != nil {
		f.Fatal(err)
	}
	alice, _ := conf.Principal("alice")
	f.Add(packPassword(alice, []byte("pw")))
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 0xff, 0xff, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		client, pw, err := unpackPassword(conf, b)
		if err != nil {
			if secpkg.StatusOf(err) != secpkg.StatusNoCredentials {
				t.Fatalf("status %v", secpkg.StatusOf(err))
			}
			return
		}
		if got, gpw, err := unpackPassword(conf, packPassword(client, pw)); err != nil || !got.Equal(client) || !bytes.Equal(gpw, pw) {
			t.Fatalf("re-packed %v %q: %v %q %v", client, pw, got, gpw, err)
		}
	})
}
