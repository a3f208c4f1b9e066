package engine_test

import (
	"context"
	"sync"
	"testing"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/engine/enginetest"
	"github.com/opensspi/sspi/secpkg"
)

// mapperTest is a one-leg package whose contexts map, and which records
// every ContextMapped call (secpkg.ContextMapper).
type mapperTest struct {
	mu     sync.Mutex
	next   secpkg.Handle
	mapped map[secpkg.Handle]int
}

var mapperPkg = &mapperTest{mapped: map[secpkg.Handle]int{}}

func init() { secpkg.Register("MapperTest", mapperPackage{}) }

type mapperPackage struct{}

func (mapperPackage) LSAModeInitialize(uint32) (uint32, secpkg.LSAPackage, error) {
	return secpkg.InterfaceVersion, mapperPkg, nil
}
func (p *mapperTest) Initialize(context.Context, uint32, *secpkg.Parameters, secpkg.LSAFunctions) error {
	return nil
}
func (p *mapperTest) GetInfo() secpkg.PackageInfo { return secpkg.PackageInfo{Name: "MapperTest"} }
func (p *mapperTest) AcquireCredentialsHandle(context.Context, *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	return &secpkg.Credentials{Handle: 1, Name: "m"}, nil
}
func (p *mapperTest) FreeCredentialsHandle(context.Context, secpkg.Handle) error { return nil }
func (p *mapperTest) QueryCredentialsAttributes(_ context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	return &secpkg.Credentials{Handle: h, Name: "m"}, nil
}
func (p *mapperTest) leg() *secpkg.ContextResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	return &secpkg.ContextResult{Context: p.next, Status: secpkg.StatusOK, Token: []byte("t"), Mapped: true, ContextData: []byte("session keys")}
}
func (p *mapperTest) InitLsaModeContext(context.Context, *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	return p.leg(), nil
}
func (p *mapperTest) AcceptLsaModeContext(context.Context, *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	return p.leg(), nil
}
func (p *mapperTest) DeleteContext(context.Context, secpkg.Handle) error { return nil }
func (p *mapperTest) QueryContextAttributes(context.Context, secpkg.Handle) (*secpkg.ContextAttributes, error) {
	return &secpkg.ContextAttributes{UserName: "m"}, nil
}
func (p *mapperTest) Shutdown(context.Context) error { return nil }
func (p *mapperTest) ContextMapped(_ context.Context, h secpkg.Handle) {
	p.mu.Lock()
	p.mapped[h]++
	p.mu.Unlock()
}

func (p *mapperTest) calls(h secpkg.Handle) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mapped[h]
}

// TestContextMapped checks that the engine tells a package once a context
// is handed to the application, once, and never when the caller cannot map
// it (the context then stays whole in the LSA).
func TestContextMapped(t *testing.T) {
	e := enginetest.New(t, &enginetest.Config{Packages: []string{"MapperTest"}})
	ctx := context.Background()
	c := e.Connect(engine.CurrentProcess())
	defer c.Close()
	cred, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "MapperTest", Use: secpkg.CredentialBoth})
	if err != nil {
		t.Fatal(err)
	}
	for _, canMap := range []bool{true, false} {
		before := mapperPkg.next
		r, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, CanMap: canMap})
		if err != nil {
			t.Fatal(err)
		}
		h := before + 1
		if (r.Packed != nil) != canMap {
			t.Fatalf("CanMap %v: packed context returned: %v", canMap, r.Packed != nil)
		}
		want := 0
		if canMap {
			want = 1
		}
		if got := mapperPkg.calls(h); got != want {
			t.Errorf("CanMap %v: ContextMapped called %d times, want %d", canMap, got, want)
		}
		ra, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Credential: cred.Handle, Token: r.Token, CanMap: canMap})
		if err != nil {
			t.Fatal(err)
		}
		if got := mapperPkg.calls(h + 1); got != want {
			t.Errorf("CanMap %v: server ContextMapped called %d times, want %d", canMap, got, want)
		}
		c.DeleteContext(ctx, r.Context)
		c.DeleteContext(ctx, ra.Context)
	}
}
