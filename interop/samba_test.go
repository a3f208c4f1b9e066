package interop

// NTLM against Samba 4.17's NTLMSSP, through its ntlm_auth helper
// (Debian's winbind package), which speaks a line protocol of its own on
// stdin and stdout, driven here directly. It runs without winbindd, with
// a private smb.conf in the test's temporary directory (--configfile);
// nothing under /etc is read or written.
//
//	client: ntlm_auth --helper-protocol=ntlmssp-client-1 --username --domain --password
//	  SF <features>  -> OK        (NTLMSSP_FEATURE_SIGN/SEAL: without them
//	                               the client negotiates neither)
//	  YR             -> YR <NEGOTIATE_MESSAGE>
//	  TT <CHALLENGE> -> AF <AUTHENTICATE_MESSAGE>   (KK in older Samba)
//	  GK             -> GK <session key>
//	server: ntlm_auth --helper-protocol=squid-2.5-ntlmssp --password=PW
//	  YR <NEGOTIATE> -> TT <CHALLENGE_MESSAGE>
//	  KK <AUTHENTICATE> -> AF <DOMAIN\user> | NA <NT status> | BH <reason>
//	  GK             -> GK <session key>
//
// The server mode checks the NT response against the one password given
// on its command line, whatever the user (Samba's test hook without
// winbindd), so it proves the response, key exchange and MIC handling
// rather than an account database.

import (
	"bytes"
	"encoding/base64"
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

// sambaNTLMAuth is Samba's helper, from Debian's winbind package.
const sambaNTLMAuth = "/usr/bin/ntlm_auth"

// sambaConf writes a private smb.conf, with every directory Samba might
// use inside dir, and returns its path.
func sambaConf(t testing.TB, dir string) string {
	t.Helper()
	state := filepath.Join(dir, "samba")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`[global]
  workgroup = %s
  netbios name = SAMBAPEER
  security = user
  state directory = %[2]s
  cache directory = %[2]s
  private dir = %[2]s
  lock directory = %[2]s
  ncalrpc dir = %[2]s
  pid directory = %[2]s
  log file = %[2]s/log.%%m
`, domain, state)
	path := filepath.Join(dir, "smb.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	sambaOnce sync.Once
	sambaErr  error
)

// requireSamba skips the test unless Samba's ntlm_auth runs here, and
// fails it instead when SSPI_INTEROP_REQUIRED=1.
func requireSamba(t testing.TB) {
	t.Helper()
	sambaOnce.Do(func() {
		dir, err := os.MkdirTemp("", "samba-check")
		if err != nil {
			sambaErr = err
			return
		}
		defer os.RemoveAll(dir)
		out, err := exec.Command(sambaNTLMAuth, "--configfile="+sambaConf(t, dir), "--version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "Version 4.") {
			sambaErr = fmt.Errorf("%s --version: %v: %s", sambaNTLMAuth, err, bytes.TrimSpace(out))
		}
	})
	if sambaErr != nil {
		peerMissing(t, "Samba ntlm_auth (Debian: apt-get install winbind, or scripts/setup.sh)", sambaErr)
	}
}

// startSamba runs ntlm_auth with a private smb.conf and args.
func startSamba(t *testing.T, name string, args ...string) *peer {
	t.Helper()
	requireSamba(t)
	cmd := exec.Command(sambaNTLMAuth, append([]string{"--configfile=" + sambaConf(t, t.TempDir())}, args...)...)
	return startCmd(t, "Samba ntlm_auth "+name, cmd)
}

// b64 is one base64 field of a helper line.
func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestSambaClientOurAcceptor: Samba's client against our acceptor, with
// and without NTLMSSP_FEATURE_SIGN and NTLMSSP_FEATURE_SEAL. Without
// them Samba keeps NTLMSSP_NEGOTIATE_KEY_EXCH and sends a 16-byte
// EncryptedRandomSessionKey with neither SIGN nor SEAL (0x62088205 in its
// NEGOTIATE_MESSAGE): our acceptor must take that key, or the session
// keys (Samba's from GK) differ and the MIC fails.
func TestSambaClientOurAcceptor(t *testing.T) {
	requireSamba(t)
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		for _, tc := range []struct {
			name     string
			features string // the SF line, or none
			seal     bool
		}{
			{"sign-seal", "SF NTLMSSP_FEATURE_SESSION_KEY NTLMSSP_FEATURE_SIGN NTLMSSP_FEATURE_SEAL", true},
			{"auth-only", "", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				peer := startSamba(t, "client", "--helper-protocol=ntlmssp-client-1",
					"--username="+user, "--domain="+domain, "--password="+password)
				if tc.features != "" {
					peer.send(tc.features)
					peer.expect("OK")
				}
				peer.send("YR")
				neg := peer.bytes(peer.expect("YR"), 0)
				flags := serverFlags
				if !tc.seal {
					flags = 0
				}
				// Samba's client sends no MsvAvTargetName.
				s := ourServerWith(t, p, ntlm.Name, "", nil, flags)
				chal, st, err := s.Accept(t.Context(), neg)
				if err != nil || st != sspi.StatusContinueNeeded {
					t.Fatalf("accepting Samba's NEGOTIATE_MESSAGE (%#08x): %v %v", negFlags(t, neg), st, err)
				}
				peer.send("TT", b64(chal))
				kind, f := peer.recv()
				if kind != "AF" && kind != "KK" {
					t.Fatalf("Samba answered our CHALLENGE_MESSAGE with %s %v", kind, f)
				}
				auth := peer.bytes(f, 0)
				aflags, keyLen := authFlags(t, auth)
				t.Logf("Samba client: NEGOTIATE %#08x, AUTHENTICATE %#08x (%d-byte key, MIC announced %v)",
					negFlags(t, neg), aflags, keyLen, micAnnounced(t, auth))
				if out, st, err := s.Accept(t.Context(), auth); err != nil || st != sspi.StatusOK || len(out) != 0 {
					t.Fatalf("accepting Samba's AUTHENTICATE_MESSAGE: %v %v", st, err)
				}
				peer.send("GK")
				theirs := peer.bytes(peer.expect("GK"), 0)
				ours, err := s.SessionKey()
				if err != nil || !bytes.Equal(ours, theirs) {
					t.Fatalf("session keys: ours %x (%v), Samba's %x", ours, err, theirs)
				}
				id, err := s.Identity()
				if err != nil || id.User != user || id.Domain != domain {
					t.Fatalf("identity %+v, %v", id, err)
				}
				conf := id.Flags&sspi.ASCRetConfidentiality != 0
				if conf != tc.seal {
					t.Fatalf("identity flags %v, want confidentiality %v", id.Flags, tc.seal)
				}
			})
		}
	})
}

// TestOurClientSambaAcceptor: our client against Samba's acceptor
// (squid-2.5-ntlmssp with --password), signing and sealing and
// authentication-only, session keys equal (Samba's from GK); Samba
// refused our former auth-only
// AUTHENTICATE_MESSAGE (KEY_EXCH with a 0-byte key: "Client-supplied
// KEY_EXCH session key was of invalid length (0)"). A wrong password is
// refused.
func TestOurClientSambaAcceptor(t *testing.T) {
	requireSamba(t)
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		for _, tc := range []struct {
			name  string
			flags sspi.ISCFlags
			pw    string
			want  string // Samba's verdict
		}{
			{"sign-seal", clientFlags, password, "AF"},
			{"auth-only", 0, password, "AF"},
			{"wrong-password", clientFlags, "not-" + password, "NA"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				peer := startSamba(t, "server", "--helper-protocol=squid-2.5-ntlmssp", "--password="+password)
				c := ourClientWith(t, p, tc.pw, nil, tc.flags)
				neg, _, err := c.Initialize(t.Context(), nil)
				if err != nil {
					t.Fatal(err)
				}
				peer.send("YR", b64(neg))
				chal := peer.bytes(peer.expect("TT"), 0)
				auth, st, err := c.Initialize(t.Context(), chal)
				if err != nil || st != sspi.StatusOK {
					t.Fatalf("answering Samba's CHALLENGE_MESSAGE (%#08x): %v %v", negFlags(t, chal), st, err)
				}
				aflags, keyLen := authFlags(t, auth)
				t.Logf("to Samba: NEGOTIATE %#08x, CHALLENGE %#08x, AUTHENTICATE %#08x (%d-byte key)", negFlags(t, neg), negFlags(t, chal), aflags, keyLen)
				peer.send("KK", b64(auth))
				kind, f := peer.recv()
				if kind != tc.want {
					t.Fatalf("Samba's acceptor said %s %s, want %s", kind, strings.Join(f, " "), tc.want)
				}
				if kind == "AF" && (len(f) != 1 || !strings.EqualFold(f[0], domain+`\`+user)) {
					t.Fatalf("Samba authenticated %v", f)
				}
				if kind == "NA" && (len(f) != 1 || f[0] != "NT_STATUS_LOGON_FAILURE") {
					t.Fatalf("Samba refused with %v", f)
				}
				if kind == "AF" {
					peer.send("GK")
					theirs := peer.bytes(peer.expect("GK"), 0)
					ours, err := c.SessionKey()
					if err != nil || !bytes.Equal(ours, theirs) {
						t.Fatalf("session keys: ours %x (%v), Samba's %x", ours, err, theirs)
					}
				}
			})
		}
	})
}
