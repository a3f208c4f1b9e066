package interop

// The LSA protocol from another language: peers/lsa_client.py, written
// from doc/lsa-protocol.md with Python's standard library and cbor2,
// against the Go server (lsa/lsarpc, as lsad serves it) on a Unix socket.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

const lsaClientScript = "peers/lsa_client.py"

var (
	lsaClientOnce sync.Once
	lsaClientErr  error
)

// requireLSAClient skips the test unless /usr/bin/python3 with cbor2 can
// run the client; with SSPI_INTEROP_REQUIRED=1 (scripts/test.sh) it fails
// instead.
func requireLSAClient(t *testing.T) {
	t.Helper()
	lsaClientOnce.Do(func() {
		out, err := exec.Command(python, lsaClientScript, "check").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			lsaClientErr = fmt.Errorf("%s %s check: %v: %s", python, lsaClientScript, err, bytes.TrimSpace(out))
		}
	})
	if lsaClientErr == nil {
		return
	}
	msg := fmt.Sprintf("the Python LSA client cannot run (Debian: apt-get install python3-cbor2, or scripts/setup.sh): %v", lsaClientErr)
	if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// serveLSA serves an engine holding alice on a Unix socket, as lsad does.
func serveLSA(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lsa-py")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "lsad.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &lsarpc.Server{Authority: newEngine(t)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); os.RemoveAll(dir) })
	return sock
}

// runLSAClient runs the client and returns its standard output.
func runLSAClient(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(python, append([]string{lsaClientScript}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lsa_client.py %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// TestPythonClientGolden: the Python client builds the requests of the
// golden frames with its own functions, byte for byte, and decodes every
// golden reply.
func TestPythonClientGolden(t *testing.T) {
	requireLSAClient(t)
	out := runLSAClient(t, nil, "golden", filepath.Join("..", "lsa", "lsarpc", "testdata", "frames"))
	if !bytes.HasPrefix(out, []byte("ok ")) {
		t.Fatalf("golden: %s", out)
	}
	t.Logf("lsa_client.py golden: %s", bytes.TrimSpace(out))
}

// pyReport is what lsa_client.py handshake prints.
type pyReport struct {
	OK                bool     `json:"ok"`
	UID               uint32   `json:"uid"`
	Packages          []string `json:"packages"`
	ClientCredentials string   `json:"client_credentials"`
	Legs              []pyLeg  `json:"legs"`
	Failed            string   `json:"failed"`
	Status            uint32   `json:"status"`
	Identity          struct{ User, Domain, Package string }
	ClientFlags       uint32 `json:"client_flags"`
	ServerFlags       uint32 `json:"server_flags"`
	Mapped            bool   `json:"mapped"`
	SealedDiffers     bool   `json:"sealed_differs"`
	Unsealed          bool   `json:"unsealed"`
	Verified          bool   `json:"verified"`
	AlteredStatus     uint32 `json:"altered_status"`
}

type pyLeg struct {
	Op     string `json:"op"`
	Status uint32 `json:"status"`
	Token  string `json:"token"` // the first 8 bytes, in hex
}

// TestPythonClientHandshake: the Python client lists the packages (as the
// Go client does) and runs an NTLM handshake through the Go server with
// both contexts kept in the LSA, seals and unseals, signs and verifies,
// and sees a changed message refused; with a wrong password the last leg
// fails with SEC_E_LOGON_DENIED.
func TestPythonClientHandshake(t *testing.T) {
	requireLSAClient(t)
	sock := serveLSA(t)

	var pkgs []struct {
		Name         string `json:"name"`
		Capabilities uint32 `json:"capabilities"`
		MaxToken     uint32 `json:"max_token"`
	}
	if err := json.Unmarshal(runLSAClient(t, nil, "packages", sock), &pkgs); err != nil {
		t.Fatal(err)
	}
	c, err := lsarpc.Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want, err := c.EnumeratePackages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != len(want) {
		t.Fatalf("Python sees %d packages, Go %d", len(pkgs), len(want))
	}
	for i, p := range want {
		if pkgs[i].Name != p.Name || pkgs[i].Capabilities != uint32(p.Capabilities) || pkgs[i].MaxToken != p.MaxToken {
			t.Errorf("package %d: Python sees %+v, Go %+v", i, pkgs[i], p)
		}
	}

	t.Run("RightPassword", func(t *testing.T) {
		var r pyReport
		out := runLSAClient(t, []string{"LSA_PY_PASSWORD=" + password}, "handshake", sock, "--user", user, "--domain", domain, "--password-env", "LSA_PY_PASSWORD")
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		t.Logf("lsa_client.py handshake: %s", bytes.TrimSpace(out))
		if !r.OK || r.UID != uint32(os.Getuid()) || !slices.Contains(r.Packages, "NTLM") {
			t.Fatalf("report %s", out)
		}
		wantLegs := []pyLeg{
			{"InitializeContext", uint32(secpkg.StatusContinueNeeded), "4e544c4d53535000"}, // NEGOTIATE
			{"AcceptContext", uint32(secpkg.StatusContinueNeeded), "4e544c4d53535000"},     // CHALLENGE
			{"InitializeContext", uint32(secpkg.StatusOK), "4e544c4d53535000"},             // AUTHENTICATE
			{"AcceptContext", uint32(secpkg.StatusOK), ""},
		}
		if !slices.Equal(r.Legs, wantLegs) {
			t.Errorf("legs %+v, want %+v", r.Legs, wantLegs)
		}
		if !strings.EqualFold(r.Identity.User, user) || !strings.EqualFold(r.Identity.Domain, domain) || r.Identity.Package != "NTLM" {
			t.Errorf("the server side authenticated %+v", r.Identity)
		}
		conf := uint32(secpkg.FlagConfidentiality | secpkg.FlagIntegrity)
		if r.ClientFlags&conf != conf || r.ServerFlags&conf != conf || r.Mapped {
			t.Errorf("flags %#x / %#x, mapped %v", r.ClientFlags, r.ServerFlags, r.Mapped)
		}
		if !r.SealedDiffers || !r.Unsealed || !r.Verified || r.AlteredStatus != uint32(secpkg.StatusMessageAltered) {
			t.Errorf("messages: sealed %v, unsealed %v, verified %v, altered message %#x (want SEC_E_MESSAGE_ALTERED)",
				r.SealedDiffers, r.Unsealed, r.Verified, r.AlteredStatus)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		var r pyReport
		out := runLSAClient(t, []string{"LSA_PY_PASSWORD=not-" + password}, "handshake", sock, "--user", user, "--domain", domain, "--password-env", "LSA_PY_PASSWORD")
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if r.OK || r.Failed != "AcceptContext" || r.Status != uint32(secpkg.StatusLogonDenied) || len(r.Legs) != 3 {
			t.Fatalf("a wrong password: %s", out)
		}
	})
}
