package sspi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
)

// enumConn is an lsa.Conn that only lists packages, with a hook.
type enumConn struct {
	lsa.Conn
	enumerate func(ctx context.Context) ([]sspi.PackageInfo, error)
}

func (c *enumConn) EnumeratePackages(ctx context.Context) ([]sspi.PackageInfo, error) {
	return c.enumerate(ctx)
}

func (c *enumConn) Close() error { return nil }

var testPackages = []sspi.PackageInfo{{Name: "Fake1"}}

// TestPackagesRetryConcurrent: while the LSA fails to list the packages,
// concurrent callers each get an error or the list, and once it answers
// the list is kept. The provider's cache is shared state: the race
// detector sees any caller that resets it while another uses it.
func TestPackagesRetryConcurrent(t *testing.T) {
	var calls atomic.Int64
	p := sspi.NewProvider(&enumConn{enumerate: func(context.Context) ([]sspi.PackageInfo, error) {
		if calls.Add(1) <= 20 {
			return nil, sspi.StatusInternalError
		}
		return testPackages, nil
	}}, nil)
	defer p.Close()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 10 {
				pkgs, err := p.Packages(context.Background())
				if err == nil && (len(pkgs) != 1 || pkgs[0].Name != "Fake1") {
					t.Errorf("Packages = %+v", pkgs)
				}
				if err != nil && !errors.Is(err, sspi.StatusInternalError) {
					t.Errorf("Packages: %v", err)
				}
			}
		})
	}
	wg.Wait()
	before := calls.Load()
	if pkgs, err := p.Packages(context.Background()); err != nil || len(pkgs) != 1 {
		t.Fatalf("Packages after the LSA answered: %+v, %v", pkgs, err)
	}
	if calls.Load() != before {
		t.Error("the provider asked the LSA again after it had the list")
	}
}

// TestPackagesOwnContext: a caller whose context ends while the LSA is
// slow to answer fails alone; another caller, meanwhile, is answered under
// its own context.
func TestPackagesOwnContext(t *testing.T) {
	type key struct{}
	inside := make(chan struct{})
	p := sspi.NewProvider(&enumConn{enumerate: func(ctx context.Context) ([]sspi.PackageInfo, error) {
		if ctx.Value(key{}) != nil {
			close(inside)
			<-ctx.Done() // the slow answer this caller gives up on
			return nil, ctx.Err()
		}
		return testPackages, nil
	}}, nil)
	defer p.Close()
	actx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, true))
	defer cancel()
	aerr := make(chan error, 1)
	go func() {
		_, err := p.Packages(actx)
		aerr <- err
	}()
	<-inside
	berr := make(chan error, 1)
	go func() {
		_, err := p.Packages(context.Background())
		berr <- err
	}()
	select {
	case err := <-berr:
		if err != nil {
			t.Fatalf("second caller: %v", err)
		}
	case <-time.After(time.Minute): // a guard, not a condition
		t.Fatal("the second caller waits on the first caller's call")
	}
	cancel()
	if err := <-aerr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v, want its context's error", err)
	}
}

// TestPackageNotRegisteredHint: asking for a package this program has not
// registered says how to register it; a registered package the LSA does
// not enable does not get that advice.
func TestPackageNotRegisteredHint(t *testing.T) {
	p := newProvider(t, newEngine(t, nil))
	ctx := context.Background()
	const hint = `import _ "github.com/opensspi/sspi/packages/all"`
	_, err := p.AcquireCredentials(ctx, "NoSuchPackage", sspi.CredentialOutbound, nil)
	if !errors.Is(err, sspi.StatusPackageNotFound) || !strings.Contains(err.Error(), hint) {
		t.Errorf("AcquireCredentials of an unregistered package: %v; want SEC_E_SECPKG_NOT_FOUND and %s", err, hint)
	}
	if strings.Count(err.Error(), "SEC_E_SECPKG_NOT_FOUND") != 1 {
		t.Errorf("the status appears more than once: %v", err)
	}
	if _, err := p.QueryPackage(ctx, "NoSuchPackage"); !strings.Contains(fmt.Sprint(err), hint) {
		t.Errorf("QueryPackage of an unregistered package: %v", err)
	}
	// NTLM is registered here (packages/all, for the examples) but not
	// enabled in this engine.
	_, err = p.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, nil)
	if !errors.Is(err, sspi.StatusPackageNotFound) || strings.Contains(err.Error(), hint) {
		t.Errorf("AcquireCredentials of a registered package the LSA does not enable: %v", err)
	}
}
