//go:build linux

package lsad_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

// Environment of the probe child.
const (
	probeSock    = "LSAD_E2E_SOCK"
	probeHandles = "LSAD_E2E_HANDLES" // name=epoch:id,...
	probeLogon   = "LSAD_E2E_LOGON"
	probeExport  = "LSAD_E2E_EXPORT" // hex
	probeSameUID = "LSAD_E2E_SAME_UID"
)

// TestE2EOtherUID runs a child as another uid (65534) against lsad and
// checks that it can neither use, delete nor detect the handles of this
// process (credentials, an established unmapped context, a context in the
// middle of its handshake, a mapped context), nor see, use or end its
// logon session, nor import its exported context, nor administer. The
// same child run as this uid on a connection of its own must not use
// the handles either (they belong to a connection, not to a uid).
// Afterwards everything still works for the owner.
func TestE2EOtherUID(t *testing.T) {
	d := startDaemon(t, "uid", daemonOpts{})
	d.addUser(t, "alice", alicePassword)
	ctx := context.Background()
	c := d.client(t)

	cred, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialOutbound,
		Identity: &secpkg.AuthIdentity{User: "alice", Domain: domain, Password: []byte(alicePassword)}})
	if err != nil {
		t.Fatal(err)
	}
	srvCred, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialInbound, Principal: target})
	if err != nil {
		t.Fatal(err)
	}
	// An established pair kept in the LSA (unmapped), one mapped pair,
	// and a client context halfway through its handshake.
	cli, srv := rawHandshake(t, c, cred.Handle, srvCred.Handle, false)
	mcli, msrv := rawHandshake(t, c, cred.Handle, srvCred.Handle, true)
	pending, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: target, Flags: e2eFlags})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := c.LogonUser(ctx, &lsa.LogonUserRequest{Package: "NTLM", Identity: secpkg.AuthIdentity{User: "alice", Domain: domain, Password: []byte(alicePassword)}})
	if err != nil {
		t.Fatal(err)
	}
	blob, err := c.ExportContext(ctx, mcli, []byte("user-mode state of the exported context"))
	if err != nil {
		t.Fatal(err)
	}
	handles := map[string]lsa.SecHandle{"cred": cred.Handle, "srvcred": srvCred.Handle, "cli": cli, "srv": srv, "mapped": msrv, "pending": pending.Context}
	var hs []string
	for n, h := range handles {
		hs = append(hs, n+"="+handleOf(h))
	}
	before := d.stats(t).Engine

	run := func(t *testing.T, uid int) {
		bin := exe(t)
		if uid != os.Getuid() {
			bin = publicExe(t)
		}
		cmd := exec.Command(bin)
		cmd.Env = childEnv("probe", probeSock+"="+d.sock, probeHandles+"="+strings.Join(hs, ","),
			probeLogon+"="+strconv.FormatUint(uint64(ls.LogonID), 10), probeExport+"="+hex.EncodeToString(blob))
		if uid == os.Getuid() {
			cmd.Env = append(cmd.Env, probeSameUID+"=1")
		} else {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
		}
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte(fmt.Sprintf("probe ok uid=%d", uid))) {
			t.Fatalf("probe as uid %d: %v\n%s", uid, err, out)
		}
	}
	t.Run("SameUIDOtherConnection", func(t *testing.T) { run(t, os.Getuid()) })
	t.Run("OtherUID", func(t *testing.T) {
		needRoot(t)
		run(t, nobody)
	})

	// The owner still has everything: the probes' DeleteContext and
	// FreeCredentials calls did nothing.
	if st := d.stats(t).Engine; st.Credentials != before.Credentials || st.Contexts != before.Contexts || st.Exports != before.Exports || st.LogonSessions != before.LogonSessions {
		t.Fatalf("lsad holds %+v after the probes, %+v before", st, before)
	}
	if _, err := c.QueryCredentials(ctx, cred.Handle); err != nil {
		t.Fatalf("owner's credentials: %v", err)
	}
	msg := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("still mine")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	r, err := c.ProtectMessage(ctx, &lsa.MessageRequest{Context: cli, Op: lsa.OpMakeSignature, Buffers: msg})
	if err != nil {
		t.Fatalf("owner's unmapped context: %v", err)
	}
	if _, err := c.ProtectMessage(ctx, &lsa.MessageRequest{Context: srv, Op: lsa.OpVerifySignature, Buffers: r.Buffers}); err != nil {
		t.Fatalf("owner's unmapped server context: %v", err)
	}
	finishHandshake(t, c, srvCred.Handle, pending, false)
	if list, err := c.LogonSessions(ctx); err != nil || len(list) != 1 || list[0].LogonID != ls.LogonID {
		t.Fatalf("owner's logon sessions: %+v, %v", list, err)
	}
	if _, err := d.client(t).ImportContext(ctx, blob); err != nil {
		t.Fatalf("owner's import of its export: %v", err)
	}
}

// rawHandshake establishes an NTLM pair on the lsa.Conn level.
func rawHandshake(t *testing.T, c lsa.Conn, cred, srvCred lsa.SecHandle, canMap bool) (client, server lsa.SecHandle) {
	t.Helper()
	ctx := context.Background()
	r1, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred, Target: target, Flags: e2eFlags, CanMap: canMap})
	if err != nil {
		t.Fatal(err)
	}
	return r1.Context, finishHandshake(t, c, srvCred, r1, canMap)
}

// finishHandshake runs the rest of a handshake whose first client leg is
// r1, and returns the server's context.
func finishHandshake(t *testing.T, c lsa.Conn, srvCred lsa.SecHandle, r1 *lsa.ContextReply, canMap bool) lsa.SecHandle {
	t.Helper()
	ctx := context.Background()
	s1, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Credential: srvCred, Token: r1.Token, CanMap: canMap})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Context: r1.Context, Target: target, Flags: e2eFlags, Token: s1.Token, CanMap: canMap})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Context: s1.Context, Token: r2.Token, CanMap: canMap})
	if err != nil || s2.Status != secpkg.StatusOK || r2.Status != secpkg.StatusOK {
		t.Fatalf("handshake: %v (%v, %v)", err, r2.Status, s2)
	}
	return s1.Context
}

// runProbe is the child of TestE2EOtherUID: it tries everything against
// the parent's handles, logon session and export, and prints "probe ok"
// if every attempt failed exactly as it does for things that do not
// exist.
func runProbe() int {
	fail := func(f string, a ...any) int { fmt.Printf("probe: "+f+"\n", a...); return 2 }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := lsarpc.Dial(ctx, os.Getenv(probeSock))
	if err != nil {
		return fail("dial: %v", err)
	}
	defer c.Close()
	sameUID := os.Getenv(probeSameUID) != ""

	// Every operation that names a handle, on the parent's handle and on
	// a missing one of the same instance: same refusal, same words.
	tok := []byte("NTLMSSP\x00garbage")
	msg := func() []secpkg.Buffer {
		return []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("x")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	}
	ops := map[string]func(h lsa.SecHandle) error{
		"QueryCredentials": func(h lsa.SecHandle) error { _, err := c.QueryCredentials(ctx, h); return err },
		"FreeCredentials":  func(h lsa.SecHandle) error { return c.FreeCredentials(ctx, h) },
		"InitializeWithCredentials": func(h lsa.SecHandle) error {
			_, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: h, Target: target})
			return err
		},
		"AcceptWithCredentials": func(h lsa.SecHandle) error {
			_, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Credential: h, Token: tok})
			return err
		},
		"InitializeContinue": func(h lsa.SecHandle) error {
			_, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Context: h, Target: target, Token: tok})
			return err
		},
		"AcceptContinue": func(h lsa.SecHandle) error {
			_, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Context: h, Token: tok})
			return err
		},
		"ProtectMessage": func(h lsa.SecHandle) error {
			_, err := c.ProtectMessage(ctx, &lsa.MessageRequest{Context: h, Op: lsa.OpMakeSignature, Buffers: msg()})
			return err
		},
		"QuerySessionKey":   func(h lsa.SecHandle) error { _, err := c.QuerySessionKey(ctx, h); return err },
		"ExportContext":     func(h lsa.SecHandle) error { _, err := c.ExportContext(ctx, h, []byte("x")); return err },
		"CallPackage":       func(h lsa.SecHandle) error { _, err := c.CallPackage(ctx, h, 1, nil); return err },
		"ApplyControlToken": func(h lsa.SecHandle) error { return c.ApplyControlToken(ctx, h, nil) },
	}
	for _, kv := range strings.Split(os.Getenv(probeHandles), ",") {
		name, hs, _ := strings.Cut(kv, "=")
		h := parseHandle(hs)
		missing := lsa.SecHandle{Epoch: h.Epoch, ID: h.ID ^ 0x5a5a}
		for op, f := range ops {
			errH, errM := f(h), f(missing)
			if errH == nil {
				return fail("%s on the parent's %s handle succeeded", op, name)
			}
			norm := func(err error, h lsa.SecHandle) string { return strings.ReplaceAll(err.Error(), h.String(), "H") }
			if secpkg.StatusOf(errH) != secpkg.StatusOf(errM) || norm(errH, h) != norm(errM, missing) {
				return fail("%s tells the parent's %s handle from a missing one: %q vs %q", op, name, errH, errM)
			}
		}
		// DeleteContext gets no answer; the parent checks that it did
		// nothing.
		if err := c.DeleteContext(ctx, h); err != nil {
			return fail("DeleteContext: %v", err)
		}
	}
	// Wait for the fire-and-forget deletes to have been served.
	if _, err := c.EnumeratePackages(ctx); err != nil {
		return fail("EnumeratePackages: %v", err)
	}
	if sameUID {
		fmt.Printf("probe ok uid=%d\n", os.Getuid())
		return 0
	}

	// The parent's logon session: invisible, unusable, not ended.
	parent, _ := strconv.ParseUint(os.Getenv(probeLogon), 10, 64)
	other := secpkg.LogonID(parent ^ 0x5a5a)
	if list, err := c.LogonSessions(ctx); err != nil || len(list) != 0 {
		return fail("another uid sees logon sessions: %+v, %v", list, err)
	}
	normID := func(err error, id secpkg.LogonID) string { return strings.ReplaceAll(err.Error(), id.String(), "ID") }
	e1, e2 := c.Logoff(ctx, secpkg.LogonID(parent)), c.Logoff(ctx, other)
	if e1 == nil || normID(e1, secpkg.LogonID(parent)) != normID(e2, other) {
		return fail("Logoff of the parent's session: %v vs %v", e1, e2)
	}
	acquire := func(id secpkg.LogonID) error {
		_, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialOutbound, LogonID: id})
		return err
	}
	e1, e2 = acquire(secpkg.LogonID(parent)), acquire(other)
	if !errors.Is(e1, secpkg.StatusNoCredentials) || normID(e1, secpkg.LogonID(parent)) != normID(e2, other) {
		return fail("default credentials from the parent's session: %v vs %v", e1, e2)
	}
	if err := acquire(0); !errors.Is(err, secpkg.StatusNoCredentials) {
		return fail("default credentials without a logon session of its own: %v", err)
	}
	// The parent's export, and administration.
	blob, _ := hex.DecodeString(os.Getenv(probeExport))
	if _, err := c.ImportContext(ctx, blob); err == nil {
		return fail("another uid imported the parent's export")
	}
	if _, err := c.ListAccounts(ctx); !errors.Is(err, secpkg.StatusNotOwner) {
		return fail("ListAccounts: %v", err)
	}
	if _, err := c.Stats(ctx, nil); !errors.Is(err, secpkg.StatusNotOwner) {
		return fail("Stats: %v", err)
	}
	if err := c.AddAccount(ctx, &lsa.AccountRequest{User: "mallory", Password: []byte("mallory-pw")}); !errors.Is(err, secpkg.StatusNotOwner) {
		return fail("AddAccount: %v", err)
	}
	fmt.Printf("probe ok uid=%d\n", os.Getuid())
	return 0
}
