package kerberos_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/secpkg"
)

// capturePackage is the Kerberos package as an engine loads it, keeping
// the LSA-mode half the engine initialized (with the engine's LSA
// functions: its clock, its randomness, its replay cache), so that a
// benchmark can call the package's entry points directly.
type capturePackage struct {
	secpkg.Package
	lsa secpkg.LSAPackage
}

func (p *capturePackage) LSAModeInitialize(v uint32) (uint32, secpkg.LSAPackage, error) {
	ver, l, err := p.Package.LSAModeInitialize(v)
	p.lsa = l
	return ver, l, err
}

// BenchmarkLsaModeHandshake measures the LSA-mode half of a Kerberos
// handshake, called directly on the package as the engine (in lsad)
// calls it: InitLsaModeContext with the service ticket cached (the
// AP-REQ), AcceptLsaModeContext (the AP-REQ's checks, the replay cache,
// the AP-REP, the packed context), the initiator's second
// InitLsaModeContext (the AP-REP, the packed context), then both contexts
// mapped and deleted. ns/op, B/op and allocs/op are one whole handshake.
// In file, the engine keeps its replay cache in a file, as lsad does (its
// cost grows with the live entries, so compare runs of the same
// -benchtime); in memory, only in memory, which leaves the package's own
// work:
//
//	eval "$(scripts/dev-realm.sh up)"
//	go test -run '^$' -bench LsaModeHandshake -benchmem -count 5 ./packages/kerberos/
func BenchmarkLsaModeHandshake(b *testing.B) {
	r := liveRealm(b)
	b.Run("file", func(b *testing.B) { benchLsaModeHandshake(b, r, filepath.Join(b.TempDir(), "replay")) })
	b.Run("memory", func(b *testing.B) { benchLsaModeHandshake(b, r, "") })
}

func benchLsaModeHandshake(b *testing.B, r *realm, replayFile string) {
	kc := kerberos.Config{ConfigFiles: []string{r.Config}, Keytabs: []string{r.ServiceKeytab}}
	cp := &capturePackage{Package: kerberos.New(&kc)}
	e, err := engine.New(&engine.Config{
		Packages:        []string{kerberos.Name},
		Configured:      map[string]secpkg.Package{kerberos.Name: cp},
		ReplayCacheFile: replayFile,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	p := cp.lsa
	ctx := secpkg.WithCallInfo(context.Background(), secpkg.CallInfo{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid()), InProcess: true})
	out, err := p.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{
		Use:      secpkg.CredentialOutbound,
		Identity: &secpkg.AuthIdentity{User: r.User, Domain: r.Realm, Password: []byte(r.Password)},
	})
	if err != nil {
		b.Fatal(err)
	}
	in, err := p.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: spn(r.Service)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		p.FreeCredentialsHandle(ctx, out.Handle)
		p.FreeCredentialsHandle(ctx, in.Handle)
	})
	mapper, _ := p.(secpkg.ContextMapper)
	flags := secpkg.ISCReqMutualAuth | secpkg.ISCReqConfidentiality | secpkg.ISCReqIntegrity | secpkg.ISCReqReplayDetect | secpkg.ISCReqSequenceDetect
	one := func() error {
		c1, err := p.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: out.Handle, Target: r.Service, Flags: flags})
		if err != nil {
			return err
		}
		defer p.DeleteContext(ctx, c1.Context)
		s, err := p.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: in.Handle, Token: c1.Token})
		if err != nil {
			return err
		}
		defer p.DeleteContext(ctx, s.Context)
		c2, err := p.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: out.Handle, Context: c1.Context, Target: r.Service, Flags: flags, Token: s.Token})
		if err != nil {
			return err
		}
		if c2.Status != secpkg.StatusOK || !c2.Mapped || !s.Mapped {
			b.Fatalf("handshake: status %v, mapped %v %v", c2.Status, c2.Mapped, s.Mapped)
		}
		if mapper != nil {
			mapper.ContextMapped(ctx, c1.Context)
			mapper.ContextMapped(ctx, s.Context)
		}
		return nil
	}
	// The first handshake gets the TGT and the service ticket.
	if err := one(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := one(); err != nil {
			b.Fatal(err)
		}
	}
}
