package sspi_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/engine/enginetest"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// countedPackage is a Fake package with a user-mode half that counts its
// initializations (SpUserModeInitialize, SpInstanceInit), or fails them.
type countedPackage struct {
	fakeMappedPackage
	fail                    bool
	userModeInit, instances atomic.Int32
}

func (p *countedPackage) UserModeInitialize(v uint32) (uint32, secpkg.UserPackage, error) {
	p.userModeInit.Add(1)
	if p.fail {
		return 0, nil, secpkg.Errorf(secpkg.StatusCannotInstall, "fake: user mode broken")
	}
	_, up, err := p.fakeMappedPackage.UserModeInitialize(v)
	return secpkg.InterfaceVersion, &countedUser{UserPackage: up, p: p}, err
}

type countedUser struct {
	secpkg.UserPackage
	p *countedPackage
}

func (u *countedUser) InstanceInit(v uint32, fns secpkg.UserFunctions) error {
	u.p.instances.Add(1)
	return u.UserPackage.InstanceInit(v, fns)
}

var countedSeq atomic.Int32

// newCounted registers a package of its own for one test run (the
// process initializes each package's user-mode half once).
func newCounted(tokens int, fail bool) (string, *countedPackage) {
	name := fmt.Sprintf("FakeCounted%d", countedSeq.Add(1))
	p := &countedPackage{fakeMappedPackage: fakeMappedPackage{fakePackage{name: name, cfg: fakeConfig{tokens: tokens}}}, fail: fail}
	secpkg.Register(name, p)
	return name, p
}

// The user-mode half of a package is initialized once per process, when
// the first of its contexts is mapped: not when the provider asks the LSA
// whether it can map (every leg), nor again for later contexts, other
// providers or the other mode.
func TestUserModeInitializedAtFirstMapping(t *testing.T) {
	name, pkg := newCounted(3, false)
	counts := func() string { return fmt.Sprint(pkg.userModeInit.Load(), pkg.instances.Load()) }
	ctx := context.Background()
	for i, mode := range modes {
		e := newEngine(t, func(c *engine.Config) { c.Packages = append(c.Packages, name) })
		p := enginetest.Provider(t, e, mode)
		c, s := pairFor(t, p, name, sspi.ISCReqIntegrity, 0)
		// Leg by leg: nothing is mapped before the last token.
		tok, st, err := c.Initialize(ctx, nil)
		if err != nil || st != sspi.StatusContinueNeeded {
			t.Fatalf("leg 1: %v %v", st, err)
		}
		tok, st, err = s.Accept(ctx, tok)
		if err != nil || st != sspi.StatusContinueNeeded {
			t.Fatalf("leg 2: %v %v", st, err)
		}
		want := "0 0"
		if i > 0 {
			want = "1 1"
		}
		if got := counts(); got != want {
			t.Fatalf("%s: before the first mapping: %s initializations, want %s", mode.Name, got, want)
		}
		tok, st, err = c.Initialize(ctx, tok)
		if err != nil || st != sspi.StatusOK || !c.Mapped() {
			t.Fatalf("leg 3: %v %v, mapped %v", st, err, c.Mapped())
		}
		if got := counts(); got != "1 1" {
			t.Fatalf("%s: after the first mapping: %s initializations, want 1 1", mode.Name, got)
		}
		if _, st, err = s.Accept(ctx, tok); err != nil || st != sspi.StatusOK || !s.Mapped() {
			t.Fatalf("leg 4: %v %v, mapped %v", st, err, s.Mapped())
		}
		// Many more contexts, at once, on several providers.
		var wg sync.WaitGroup
		for range 4 {
			q := enginetest.Provider(t, e, mode)
			c, s := pairFor(t, q, name, sspi.ISCReqIntegrity, 0)
			wg.Go(func() {
				if err := secpkgtest.Handshake(ctx, c, s); err != nil || !c.Mapped() || !s.Mapped() {
					t.Errorf("%s: handshake: %v, mapped %v %v", mode.Name, err, c.Mapped(), s.Mapped())
				}
			})
		}
		wg.Wait()
		if got := counts(); got != "1 1" {
			t.Fatalf("%s: after more contexts: %s initializations, want 1 1", mode.Name, got)
		}
	}
}

// A package without a user-mode half keeps its contexts in the LSA, and
// nothing is initialized for it.
func TestUserModeAbsent(t *testing.T) {
	p := newProvider(t, newEngine(t, nil))
	c, s := established(t, p, "FakeUnmapped")
	if c.Mapped() || s.Mapped() {
		t.Fatal("a package without a user-mode half was mapped")
	}
	sig, err := c.Sign([]byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify([]byte("m"), sig); err != nil {
		t.Fatal(err)
	}
}

// If the user-mode half fails to initialize, the context being mapped
// fails with the reason, and the process maps no other context of the
// package: later ones stay in the LSA and work.
func TestUserModeInitializationFails(t *testing.T) {
	name, pkg := newCounted(1, true)
	e := newEngine(t, func(c *engine.Config) { c.Packages = append(c.Packages, name) })
	p := newProvider(t, e)
	c, s := pairFor(t, p, name, sspi.ISCReqIntegrity, 0)
	if err := secpkgtest.Handshake(context.Background(), c, s); !errors.Is(err, sspi.StatusCannotInstall) {
		t.Fatalf("mapping with a broken user-mode half: %v", err)
	}
	c, s = established(t, p, name)
	if c.Mapped() || s.Mapped() {
		t.Fatal("mapped after the user-mode half failed")
	}
	sig, err := s.Sign([]byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify([]byte("m"), sig); err != nil {
		t.Fatal(err)
	}
	if n := pkg.userModeInit.Load(); n != 1 {
		t.Fatalf("SpUserModeInitialize called %d times", n)
	}
}
