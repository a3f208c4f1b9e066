package opaque

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/secpkg"
)

// TestStretchLimit: stretches beyond MaxConcurrentKSF wait, waiting ends
// with the caller's context, and an abandoned stretch keeps its slot (and
// its memory) until it has actually finished.
func TestStretchLimit(t *testing.T) {
	p := newLSAPackage(PackageConfig{MaxConcurrentKSF: 1})
	if err := p.Initialize(context.Background(), 0, nil, newFakeLSA()); err != nil {
		t.Fatal(err)
	}
	k, msg := Argon2id(64, 1, 1), []byte("oprf output")
	want, _ := k.Stretch(msg)

	started, release := make(chan struct{}), make(chan struct{})
	testHookStretching = func(uint32) { started <- struct{}{}; <-release }
	defer func() { testHookStretching = nil }()

	ctx1, cancel1 := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := p.stretch(ctx1, k, msg); first <- err }()
	<-started // the first stretch holds the only slot

	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := p.stretch(ctx2, k, msg); err == nil {
		t.Fatal("a stretch past the limit did not wait")
	}
	cancel1()
	if err := <-first; err == nil {
		t.Fatal("an abandoned stretch reported success")
	}
	// Abandoned, but still running: the slot is still taken.
	if _, err := p.stretch(ctx2, k, msg); err == nil {
		t.Fatal("an abandoned stretch gave up its slot before finishing")
	}
	testHookStretching = nil
	close(release)
	got, err := p.stretch(context.Background(), k, msg) // waits for the slot
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("stretch after the slot freed: %v", err)
	}
}

// TestFileSecretStore: secrets are created once with mode 0600, a second
// creation reports fs.ErrExist, and a file others can read is refused.
func TestFileSecretStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := FileSecretStore(dir)
	if _, err := s.Secret(ctx, "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing secret: %v", err)
	}
	if err := s.CreateSecret(ctx, "x", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSecret(ctx, "x", []byte("two")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second creation: %v", err)
	}
	if b, err := s.Secret(ctx, "x"); err != nil || string(b) != "one" {
		t.Fatalf("secret = %q, %v", b, err)
	}
	st, err := os.Stat(filepath.Join(dir, "x"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d files left in the directory", len(entries))
	}
	os.Chmod(filepath.Join(dir, "x"), 0o644)
	if _, err := s.Secret(ctx, "x"); err == nil {
		t.Fatal("a world-readable secret was accepted")
	}
	for _, bad := range []string{"", "../x", ".hidden", "a/b"} {
		if err := s.CreateSecret(ctx, bad, nil); err == nil {
			t.Errorf("secret name %q accepted", bad)
		}
	}
}

// TestSetupCreatedOnceAndShared: the first acceptor creates the server
// setup; another LSA on the same store uses it, so a record made through
// one works through the other; an LSA without a store cannot accept but
// can initiate.
func TestSetupCreatedOnceAndShared(t *testing.T) {
	env := newEngine(t, nil)
	ctx := context.Background()
	b, err := env.store.Secret(ctx, Name, setupSecretName)
	if err != nil || len(b) != ServerSetupSize {
		t.Fatalf("setup in the account store: %d bytes, %v", len(b), err)
	}
	other := newLSAPackage(PackageConfig{KSF: engineKSF, Secrets: storeSecrets{env.store}})
	if err := other.Initialize(ctx, 0, &engineParams, newFakeLSA()); err != nil {
		t.Fatal(err)
	}
	s1, _ := env.reg.serverSetup(ctx)
	s2, err := other.serverSetup(ctx)
	if err != nil || !bytes.Equal(s1.Bytes(), s2.Bytes()) {
		t.Fatalf("setups differ: %v", err)
	}
	none := newLSAPackage(PackageConfig{})
	if err := none.Initialize(ctx, 0, &engineParams, newFakeLSA()); err != nil {
		t.Fatal(err)
	}
	if _, err := none.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound}); !errors.Is(err, secpkg.StatusNoCredentials) {
		t.Fatalf("inbound credentials without a secret store: %v", err)
	}
	c, err := none.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound, Identity: &secpkg.AuthIdentity{User: "u", Password: []byte("p")}})
	if err != nil {
		t.Fatalf("outbound credentials without a secret store: %v", err)
	}
	none.FreeCredentialsHandle(ctx, c.Handle)
}

// TestLogonUser: an interactive logon checks the password of a local
// account by a login inside the LSA, and its session then serves default
// credentials; a wrong password is refused.
func TestLogonUser(t *testing.T) {
	env := newEngine(t, nil)
	p := env.provider(t)
	ctx := context.Background()
	if _, err := p.LogonUser(ctx, Name, &sspi.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte("wrong")}); !errors.Is(err, secpkg.StatusLogonDenied) {
		t.Fatalf("logon with a wrong password: %v", err)
	}
	ls, err := p.LogonUser(ctx, Name, &sspi.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Logoff(ctx, ls.LogonID)
	cc, err := p.AcquireCredentials(ctx, Name, sspi.CredentialOutbound, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Free()
	sc, err := p.AcquireCredentials(ctx, Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: testTarget})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Free()
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: testTarget})
	s := sspi.NewServerContext(sc, nil)
	defer c.Delete()
	defer s.Delete()
	if err := handshakeLoop(ctx, c, s); err != nil {
		t.Fatalf("handshake with default credentials: %v", err)
	}
	if id, err := s.Identity(); err != nil || id.User != testUser {
		t.Fatalf("identity %+v, %v", id, err)
	}
}

// TestMessagesMultipleBuffers: several data buffers are sealed in place
// as one message, read-only buffers with checksum are covered but left
// in clear, plain read-only buffers are neither.
func TestMessagesMultipleBuffers(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := bytes.Repeat([]byte{9}, Nx)
	cli, err := newSession(roleInitiator, key, contextFlags(wireSequenceDetect, 0), now)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newSession(roleAcceptor, key, contextFlags(wireSequenceDetect, 0), now)
	a, b, hdr := []byte("first part "), []byte("second part"), []byte("header in clear")
	msg := []secpkg.Buffer{
		{Type: secpkg.BufferData | secpkg.BufferReadOnlyWithChecksum, Data: append([]byte(nil), hdr...)},
		{Type: secpkg.BufferData, Data: append([]byte(nil), a...)},
		{Type: secpkg.BufferToken, Data: make([]byte, trailerSize)},
		{Type: secpkg.BufferData, Data: append([]byte(nil), b...)},
		{Type: secpkg.BufferData | secpkg.BufferReadOnly, Data: []byte("not covered")},
	}
	if err := cli.sealMessage(0, msg); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(msg[1].Data, a) || bytes.Equal(msg[3].Data, b) || !bytes.Equal(msg[0].Data, hdr) {
		t.Fatal("data buffers not sealed in place, or the read-only one changed")
	}
	msg[4].Data = []byte("changed, not covered")
	altered := append([]byte(nil), msg[0].Data...)
	altered[0] ^= 1
	bad := append([]secpkg.Buffer(nil), msg...)
	bad[0] = secpkg.Buffer{Type: msg[0].Type, Data: altered}
	if _, err := srv.unsealMessage(cloneBuffers(bad)); !errors.Is(err, secpkg.StatusMessageAltered) {
		t.Fatalf("altered checksummed header: %v", err)
	}
	if qop, err := srv.unsealMessage(msg); err != nil || qop != 0 {
		t.Fatalf("unseal: %v", err)
	}
	if !bytes.Equal(msg[1].Data, a) || !bytes.Equal(msg[3].Data, b) {
		t.Fatal("unsealed data differs")
	}
	// A sealed message is not a signature.
	sig := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("x")}, {Type: secpkg.BufferToken, Data: make([]byte, trailerSize)}}
	cli.sealMessage(0, sig)
	if _, err := srv.verifySignature(sig); !errors.Is(err, secpkg.StatusMessageAltered) {
		t.Fatalf("sealed message verified as a signature: %v", err)
	}
}

func cloneBuffers(m []secpkg.Buffer) []secpkg.Buffer {
	out := make([]secpkg.Buffer, len(m))
	for i, b := range m {
		out[i] = secpkg.Buffer{Type: b.Type, Data: append([]byte(nil), b.Data...)}
	}
	return out
}

// TestPackageInfo: what EnumerateSecurityPackages reports.
func TestPackageInfo(t *testing.T) {
	info := newLSAPackage(PackageConfig{}).GetInfo()
	want := secpkg.CapIntegrity | secpkg.CapPrivacy | secpkg.CapMutualAuth | secpkg.CapConnection | secpkg.CapAcceptWin32Name
	if info.Name != "OPAQUE" || info.Capabilities&want != want || info.MaxToken != maxKE1Token || info.Comment == "" {
		t.Fatalf("%+v", info)
	}
}

// TestLSASlowPathAndMapping: a context the LSA keeps (not mapped) signs
// and seals in the LSA and interoperates with a mapped peer; once mapped,
// the LSA-mode copy has dropped its keys.
func TestLSASlowPathAndMapping(t *testing.T) {
	ctx := context.Background()
	f := newFakeLSA()
	p := newLSAPackage(PackageConfig{KSF: engineKSF, Secrets: FileSecretStore(t.TempDir()), InsecureRegisterInLSA: true})
	if err := p.Initialize(ctx, 0, &engineParams, f); err != nil {
		t.Fatal(err)
	}
	v, err := p.MakeVerifier(ctx, testUser, testDomain, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	f.addAccount(testDomain, testUser, v)
	cc, _ := p.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound,
		Identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}})
	sc, _ := p.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: testTarget})
	r1, err := p.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: testTarget, Flags: secpkg.ISCReqReplayDetect})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: r1.Token})
	if err != nil {
		t.Fatal(err)
	}
	r3, err := p.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Context: r1.Context, Token: r2.Token})
	if err != nil {
		t.Fatal(err)
	}
	r4, err := p.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Context: r2.Context, Token: r3.Token})
	if err != nil {
		t.Fatal(err)
	}
	// The server is mapped into "the application"; the client stays in
	// the LSA.
	srv, err := (&userPackage{}).InitUserModeContext(secpkg.UserContextHandle(r2.Context), r4.ContextData)
	if err != nil {
		t.Fatal(err)
	}
	p.ContextMapped(ctx, r2.Context)
	for i := range 3 {
		data := []byte("slow path")
		msg := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, trailerSize)}, {Type: secpkg.BufferData, Data: data}}
		if err := p.SealMessage(ctx, r1.Context, 0, msg, 0); err != nil {
			t.Fatalf("LSA seal #%d: %v", i, err)
		}
		if _, err := srv.UnsealMessage(msg, 0); err != nil || string(msg[1].Data) != "slow path" {
			t.Fatalf("user-mode unseal #%d: %v", i, err)
		}
		sig := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("signed")}, {Type: secpkg.BufferToken, Data: make([]byte, trailerSize)}}
		if err := srv.MakeSignature(0, sig, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := p.VerifySignature(ctx, r1.Context, sig, 0); err != nil {
			t.Fatalf("LSA verify #%d: %v", i, err)
		}
	}
	k1, err1 := p.QuerySessionKey(ctx, r1.Context)
	k2, err2 := srv.SessionKey()
	if err1 != nil || err2 != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("session keys: %v, %v", err1, err2)
	}
	msg := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, trailerSize)}, {Type: secpkg.BufferData, Data: []byte("x")}}
	if err := p.SealMessage(ctx, r2.Context, 0, msg, 0); !errors.Is(err, secpkg.StatusUnsupportedFunction) {
		t.Fatalf("LSA seal on a mapped context: %v", err)
	}
	if a, err := p.QueryContextAttributes(ctx, r2.Context); err != nil || a.Identity == nil || a.Identity.User != testUser {
		t.Fatalf("attributes of a mapped context: %+v, %v", a, err)
	}
	for _, h := range []secpkg.Handle{r1.Context, r2.Context} {
		if err := p.DeleteContext(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if f.reports[false] != 1 || f.reports[true] != 1 {
		t.Errorf("reports %v: want the attempt counted and the success reported", f.reports)
	}
}

// TestParseKSF reads what String writes, and the names.
func TestParseKSF(t *testing.T) {
	for _, k := range []KSF{DefaultKSF(), RecommendedKSF(), Argon2id(64, 1, 1), InsecureIdentityKSF()} {
		got, err := ParseKSF(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKSF(%q) = %v, %v", k.String(), got, err)
		}
	}
	for s, want := range map[string]KSF{"default": DefaultKSF(), " Recommended ": RecommendedKSF(), "argon2id( m=256, t=2, p=1 )": Argon2id(256, 2, 1)} {
		if got, err := ParseKSF(s); err != nil || got != want {
			t.Errorf("ParseKSF(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "argon2", "Argon2id(m=1,t=1,p=1)", "Argon2id(m=64,t=0,p=1)", "Argon2id(m=64,t=1,p=1)x", "Argon2id(m=64,t=1,p=1", "scrypt"} {
		if k, err := ParseKSF(bad); err == nil {
			t.Errorf("ParseKSF(%q) = %v", bad, k)
		}
	}
}
