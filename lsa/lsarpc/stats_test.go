package lsarpc

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

func TestStats(t *testing.T) {
	var refuse atomic.Bool
	e, err := engine.New(&engine.Config{Packages: []string{"RPCTest"}, Authorize: func(ci secpkg.CallInfo, a engine.Access) error {
		if a.Kind == engine.AccessAdminister && refuse.Load() {
			return errors.New("not an administrator")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := serve(t, e)
	c, err := Dial(context.Background(), s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "RPCTest", Use: secpkg.CredentialInbound}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats(ctx, &lsa.StatsRequest{GC: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Engine.Conns != 1 || st.Engine.Credentials != 1 || st.Calls != 2 || st.Goroutines <= 0 || st.HeapAlloc == 0 || st.OpenFiles <= 0 {
		t.Fatalf("stats %+v", st)
	}
	refuse.Store(true)
	if _, err := c.Stats(ctx, nil); !errors.Is(err, secpkg.StatusNotOwner) {
		t.Fatalf("Stats without the admin right: %v, want SEC_E_NOT_OWNER", err)
	}
}
