package ntlm

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// oemNegotiate is a NEGOTIATE_MESSAGE with the given flags and OEM
// DomainName and Workstation fields, as python ntlm-auth 1.4 sends it.
func oemNegotiate(t testing.TB, flags negotiateFlags) []byte {
	t.Helper()
	m := negotiateMsg{flags: flags, domain: []byte(testDomain), workstation: []byte("PYCLIENT"), version: &ourVersion}
	raw, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestOEMClient: a client that clears NTLMSSP_NEGOTIATE_UNICODE and sets
// NTLM_NEGOTIATE_OEM gets an OEM CHALLENGE_MESSAGE and authenticates with
// OEM names (MS-NLMP 2.2.2.5: with A clear and B set, OEM is the
// character set). The flags are what python ntlm-auth 1.4 sends.
func TestOEMClient(t *testing.T) {
	for _, flags := range []negotiateFlags{0xe288b032, 0xe2889032} {
		t.Run(fmt.Sprintf("%#08x", uint32(flags)), func(t *testing.T) {
			e := newEnv(t, nil)
			esk := []byte("0123456789abcdef") // the forger's ExportedSessionKey
			r := e.handshake(hsOpts{
				editNeg: func([]byte) []byte { return oemNegotiate(t, flags) },
				forge:   forger(t, forgeOpts{oem: true}),
			})
			wantStatus(t, r.err(), secpkg.StatusOK)
			var chal challengeMsg
			if err := chal.unmarshal(r.chal); err != nil {
				t.Fatal(err)
			}
			if chal.flags&flagUnicode != 0 || chal.flags&flagOEM == 0 {
				t.Fatalf("CHALLENGE flags %v, want OEM without UNICODE", chal.flags)
			}
			// TargetName in the negotiated character set (MS-NLMP
			// 2.2.1.2); TargetInfo is UTF-16 whatever the set.
			if !bytes.Equal(chal.targetName, []byte(testDomain)) {
				t.Fatalf("OEM TargetName %q", chal.targetName)
			}
			if v, _ := chal.avPairs.get(avNbDomainName); !bytes.Equal(v, encodeUTF16(testDomain)) {
				t.Fatalf("MsvAvNbComputerName %x", v)
			}
			attrs, err := e.srv.QueryContextAttributes(context.Background(), r.srvCtx)
			if err != nil {
				t.Fatal(err)
			}
			if id := attrs.Identity; id.User != testUser || id.Domain != testDomain || id.Workstation != "FORGER" {
				t.Fatalf("identity %+v", id)
			}
			if k, err := r.srvUser.SessionKey(); err != nil || !bytes.Equal(k, esk) {
				t.Fatalf("session key %x, %v; want %x", k, err, esk)
			}
		})
	}
}

// TestOEMCodePage: OEM names are read in code page 437, so a user name
// sent as "J\x81rgen" is Jürgen.
func TestOEMCodePage(t *testing.T) {
	e := newEnv(t, nil)
	e.srvLSA.addAccount(testDomain, "Jürgen", testPassword)
	r := e.handshake(hsOpts{
		editNeg: func([]byte) []byte { return oemNegotiate(t, 0xe288b032) },
		forge:   forger(t, forgeOpts{oem: true, user: "Jürgen", domain: testDomain, password: testPassword, rawUser: []byte("J\x81rgen")}),
	})
	wantStatus(t, r.err(), secpkg.StatusOK)
	attrs, err := e.srv.QueryContextAttributes(context.Background(), r.srvCtx)
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Identity.User != "Jürgen" {
		t.Fatalf("identity %+v", attrs.Identity)
	}
	if got, err := decodeOEM([]byte("J\x81rgen \x9c\xe1\xff")); err != nil || got != "Jürgen £ß\u00a0" {
		t.Fatalf("decodeOEM = %q, %v", got, err)
	}
	if got := encodeOEM("Jürgen £ß"); !bytes.Equal(got, []byte("J\x81rgen \x9c\xe1")) {
		t.Fatalf("encodeOEM = %q", got)
	}
	if got := encodeOEM("東京"); !bytes.Equal(got, []byte("??")) {
		t.Fatalf("encodeOEM of what code page 437 lacks = %q", got)
	}
}

// TestCharacterSetRequired: a message with neither
// NTLMSSP_NEGOTIATE_UNICODE nor NTLM_NEGOTIATE_OEM is SEC_E_INVALID_TOKEN
// (MS-NLMP 2.2.2.5), as is an OEM name holding NUL; a NEGOTIATE with both
// gets Unicode.
func TestCharacterSetRequired(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{editNeg: clearFlag(12, flagUnicode|flagOEM)})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)

	r = e.handshake(hsOpts{forge: forger(t, forgeOpts{flags: func(f negotiateFlags) negotiateFlags { return f &^ (flagUnicode | flagOEM) }})})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)

	r = e.handshake(hsOpts{
		editNeg: func([]byte) []byte { return oemNegotiate(t, 0xe288b032) },
		forge:   forger(t, forgeOpts{oem: true, rawUser: []byte("ali\x00ce")}),
	})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)

	r = e.handshake(hsOpts{editNeg: func(b []byte) []byte {
		b[12] |= byte(flagOEM) // our NEGOTIATE has UNICODE; now both
		return b
	}, forge: forger(t, forgeOpts{})})
	wantStatus(t, r.err(), secpkg.StatusOK)
	var chal challengeMsg
	if err := chal.unmarshal(r.chal); err != nil {
		t.Fatal(err)
	}
	if chal.flags&flagUnicode == 0 || chal.flags&flagOEM != 0 {
		t.Fatalf("CHALLENGE flags %v, want UNICODE alone", chal.flags)
	}
}
