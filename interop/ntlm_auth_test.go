package interop

// NTLM against python ntlm-auth 1.4 (Debian's python3-ntlm-auth), a client
// written independently of gss-ntlmssp and Samba, driven by
// peers/ntlm_auth_peer.py. It sends what gss-ntlmssp never does: a
// NEGOTIATE_MESSAGE with NTLMSSP_NEGOTIATE_UNICODE clear and
// NTLM_NEGOTIATE_OEM set (0xe288b032), and a MIC.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/packages/ntlm"
)

// ntlmAuthScript is the python ntlm-auth driver, relative to this package.
const ntlmAuthScript = "peers/ntlm_auth_peer.py"

// openSSLLegacy is an OpenSSL configuration that activates the legacy
// provider next to the default one: ntlm-auth computes MD4 through
// Python's hashlib, which OpenSSL 3 keeps there.
const openSSLLegacy = `openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
`

// ntlmAuthEnv is the environment of a python ntlm-auth process: its
// OpenSSL configuration in dir and the password in NTLM_AUTH_PASSWORD.
func ntlmAuthEnv(t testing.TB, dir, pw string) []string {
	t.Helper()
	conf := filepath.Join(dir, "openssl-legacy.cnf")
	if err := os.WriteFile(conf, []byte(openSSLLegacy), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"OPENSSL_CONF=" + conf, "NTLM_AUTH_PASSWORD=" + pw}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "OPENSSL_") && !strings.HasPrefix(k, "NTLM_") {
			env = append(env, kv)
		}
	}
	return env
}

var (
	ntlmAuthOnce sync.Once
	ntlmAuthErr  error
)

// requireNtlmAuth skips the test unless python ntlm-auth runs here, and
// fails it instead when SSPI_INTEROP_REQUIRED=1.
func requireNtlmAuth(t testing.TB) {
	t.Helper()
	ntlmAuthOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ntlm-auth-check")
		if err != nil {
			ntlmAuthErr = err
			return
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command(python, ntlmAuthScript, "check")
		cmd.Env = ntlmAuthEnv(t, dir, "")
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			ntlmAuthErr = fmt.Errorf("%s %s check: %v: %s", python, ntlmAuthScript, err, bytes.TrimSpace(out))
		}
	})
	if ntlmAuthErr != nil {
		peerMissing(t, "python ntlm-auth (Debian: apt-get install python3-ntlm-auth, or scripts/setup.sh)", ntlmAuthErr)
	}
}

// startNtlmAuth runs a python ntlm-auth initiator for alice with pw.
func startNtlmAuth(t *testing.T, pw string) *peer {
	t.Helper()
	requireNtlmAuth(t)
	cmd := exec.Command(python, ntlmAuthScript, "initiator", "--user", user, "--domain", domain, "--workstation", "PYCLIENT")
	cmd.Env = ntlmAuthEnv(t, t.TempDir(), pw)
	return startCmd(t, "python ntlm-auth", cmd)
}

// TestNtlmAuthClientOurAcceptor: python ntlm-auth's client against our
// acceptor, with both NTLM registrations (the default, and RequireMIC:
// ntlm-auth sends a MIC, so both accept it). Its NEGOTIATE_MESSAGE is
// OEM-only, which our acceptor refused before it learnt OEM (MS-NLMP
// 2.2.2.5); it answers our OEM CHALLENGE_MESSAGE with ASCII names.
// It sends no target name, so our acceptor has no principal here.
// Session keys agree, and its wrap and unwrap work with our user-mode
// half both ways, for several messages in sequence.
func TestNtlmAuthClientOurAcceptor(t *testing.T) {
	requireNtlmAuth(t)
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		for _, pkg := range []string{ntlm.Name, ntlmRequireMIC} {
			t.Run(pkg, func(t *testing.T) {
				peer := startNtlmAuth(t, password)
				// ntlm-auth sends no MsvAvTargetName, which our
				// acceptor requires when it has a principal.
				s := ourServerWith(t, p, pkg, "", nil, serverFlags)
				neg := peer.token()
				chal, st, err := s.Accept(t.Context(), neg)
				if err != nil || st != sspi.StatusContinueNeeded {
					t.Fatalf("accepting ntlm-auth's NEGOTIATE_MESSAGE (flags %#08x): %v %v", negFlags(t, neg), st, err)
				}
				if f := negFlags(t, chal); f&nlmpUnicode != 0 || f&nlmpOEM == 0 {
					t.Fatalf("our CHALLENGE flags %#08x, want OEM", f)
				}
				peer.send("TOK", chal)
				auth := peer.token()
				d := peer.done()
				aflags, keyLen := authFlags(t, auth)
				t.Logf("ntlm-auth: NEGOTIATE %#08x, AUTHENTICATE %#08x (%d-byte key, MIC announced %v)",
					negFlags(t, neg), aflags, keyLen, micAnnounced(t, auth))
				if negFlags(t, neg)&(nlmpUnicode|nlmpOEM) != nlmpOEM {
					t.Errorf("ntlm-auth no longer sends an OEM-only NEGOTIATE_MESSAGE: %#08x", negFlags(t, neg))
				}
				if !micAnnounced(t, auth) {
					t.Errorf("ntlm-auth announced no MIC")
				}
				out, st, err := s.Accept(t.Context(), auth)
				if err != nil || st != sspi.StatusOK || len(out) != 0 {
					t.Fatalf("accepting ntlm-auth's AUTHENTICATE_MESSAGE: %v %v", st, err)
				}
				id, err := s.Identity()
				if err != nil || id.User != user || id.Domain != domain || id.Workstation != "PYCLIENT" {
					t.Fatalf("identity %+v, %v", id, err)
				}
				checkSessionKey(t, &s.Context, d)
				for i, msg := range testMessages() {
					peer.send("WRAP", msg)
					pt, encrypted, err := s.Unwrap(peer.bytes(peer.expect("WRAPPED"), 0))
					if err != nil || !bytes.Equal(pt, msg) || !encrypted {
						t.Fatalf("message %d: unwrapping ntlm-auth's wrap: %v (encrypted %v)", i, err, encrypted)
					}
					tok, err := s.Wrap(msg, true)
					if err != nil {
						t.Fatal(err)
					}
					peer.send("UNWRAP", tok)
					if got := peer.bytes(peer.expect("DATA"), 0); !bytes.Equal(got, msg) {
						t.Fatalf("message %d: ntlm-auth unwrapped %d bytes, want %d", i, len(got), len(msg))
					}
				}
				// Our tampered token: ntlm-auth refuses it.
				tok, err := s.Wrap([]byte("tampered"), true)
				if err != nil {
					t.Fatal(err)
				}
				tok[len(tok)-1] ^= 0x01
				peer.send("UNWRAP", tok)
				peer.expect("BAD")
				peer.quit()
			})
		}
	})
}

// TestNtlmAuthWrongPassword: a wrong password from ntlm-auth is
// SEC_E_LOGON_DENIED.
func TestNtlmAuthWrongPassword(t *testing.T) {
	requireNtlmAuth(t)
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		peer := startNtlmAuth(t, "not-"+password)
		s := ourServer(t, p, ntlm.Name, nil)
		chal, _, err := s.Accept(t.Context(), peer.token())
		if err != nil {
			t.Fatal(err)
		}
		peer.send("TOK", chal)
		auth := peer.token()
		peer.done()
		_, _, err = s.Accept(t.Context(), auth)
		wantStatus(t, "ntlm-auth's wrong password", err, sspi.StatusLogonDenied)
	})
}

// negFlags returns the NegotiateFlags of a NEGOTIATE_MESSAGE (offset 12)
// or CHALLENGE_MESSAGE (offset 20), MS-NLMP 2.2.1.1-2.
func negFlags(t *testing.T, msg []byte) uint32 {
	t.Helper()
	if len(msg) < 32 || string(msg[:8]) != "NTLMSSP\x00" {
		t.Fatalf("not an NTLM message: %x", msg)
	}
	switch msg[8] {
	case 1:
		return uint32(msg[12]) | uint32(msg[13])<<8 | uint32(msg[14])<<16 | uint32(msg[15])<<24
	case 2:
		return uint32(msg[20]) | uint32(msg[21])<<8 | uint32(msg[22])<<16 | uint32(msg[23])<<24
	}
	t.Fatalf("NTLM message of type %d", msg[8])
	return 0
}
