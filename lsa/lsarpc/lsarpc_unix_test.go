//go:build unix

package lsarpc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

// TestOtherUID checks, as root, that the server attributes a connection
// to the uid the kernel reports, and that a process of another uid cannot
// use or even detect this process's handle.
func TestOtherUID(t *testing.T) {
	if os.Getenv("LSARPC_PROBE") != "" {
		probe()
		return
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another uid")
	}
	e, err := engine.New(&engine.Config{Packages: []string{"RPCTest"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := serve(t, e)
	os.Chmod(s.dir, 0o755)
	os.Chmod(s.path, 0o777)
	c, err := Dial(context.Background(), s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cred, err := c.AcquireCredentials(context.Background(), &lsa.AcquireCredentialsRequest{Package: "RPCTest", Use: secpkg.CredentialInbound})
	if err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a directory only root may enter.
	exe, _ := os.Executable()
	bin := filepath.Join(s.dir, "probe")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestOtherUID$")
	cmd.Env = append(os.Environ(), "LSARPC_PROBE="+s.path,
		"LSARPC_HANDLE="+strconv.FormatUint(cred.Handle.Epoch, 10)+":"+strconv.FormatUint(cred.Handle.ID, 10))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe as uid 65534: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("probe ok uid=65534")) {
		t.Fatalf("probe output:\n%s", out)
	}
	// The owner still has its handle.
	if _, err := c.QueryCredentials(context.Background(), cred.Handle); err != nil {
		t.Fatalf("owner lost its handle: %v", err)
	}
}
