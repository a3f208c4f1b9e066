package lsad

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/opensspi/sspi/lsa/lsarpc"
)

// TestServerLimits checks the protocol limits lsad derives from its
// configuration and its open-file limit: the defaults are sane (the
// connections fit the descriptors with room for the rest, a uid cannot
// take them all, the reserve remains, a frame fits the byte budget), the
// keys reach the server, and nonsense is refused.
func TestServerLimits(t *testing.T) {
	parse := func(t *testing.T, limits string) *Config {
		t.Helper()
		var cfg Config
		if _, err := toml.Decode("[limits]\n"+limits, &cfg); err != nil {
			t.Fatal(err)
		}
		return &cfg
	}
	for _, nofile := range []uint64{0, 1024, 20000, 1 << 20} {
		l, err := parse(t, "").serverLimits(nofile)
		if err != nil {
			t.Fatal(err)
		}
		if l.MaxConns > lsarpc.DefaultMaxConns || nofile > 0 && uint64(l.MaxConns) > nofile-fdMargin {
			t.Errorf("nofile %d: max_connections %d", nofile, l.MaxConns)
		}
		// The server fills in the rest (lsarpc.Limits' zero values).
		if l.MaxConnsPerUID != 0 || l.MaxBytesPerUID != 0 || l.IdleTimeout != 0 {
			t.Errorf("nofile %d: defaults not left to the server: %+v", nofile, l)
		}
	}
	if lsarpc.DefaultMaxConnsPerUID >= lsarpc.DefaultMaxConns-lsarpc.DefaultReservedConns || lsarpc.DefaultMaxBytesPerUID < 2*lsarpc.MaxFrame ||
		lsarpc.DefaultMaxCallsPerUID < lsarpc.DefaultMaxCallsPerConn || lsarpc.DefaultFrameTimeout > lsarpc.DefaultIdleTimeout {
		t.Error("the protocol's defaults contradict each other")
	}

	l, err := parse(t, `max_connections = 100
reserved_connections = 10
max_connections_per_uid = 20
max_calls_per_connection = 8
max_calls_per_uid = 16
max_buffered_bytes_per_uid = 4194304
hello_timeout = "3s"
frame_timeout = "2s"
idle_timeout = "1m"
reply_timeout = "5s"
call_timeout = "30s"`).serverLimits(1024)
	want := lsarpc.Limits{MaxConns: 100, ReservedConns: 10, MaxConnsPerUID: 20, MaxCallsPerConn: 8, MaxCallsPerUID: 16, MaxBytesPerUID: 4 << 20,
		HelloTimeout: 3 * time.Second, FrameTimeout: 2 * time.Second, IdleTimeout: time.Minute, WriteTimeout: 5 * time.Second, CallTimeout: 30 * time.Second}
	if err != nil || l != want {
		t.Fatalf("limits %+v, %v; want %+v", l, err, want)
	}
	if l, _ := parse(t, "max_connections = 100000").serverLimits(1024); l.MaxConns != 1024-fdMargin {
		t.Errorf("max_connections over the open-file limit: %d", l.MaxConns)
	}
	for _, bad := range []string{"max_buffered_bytes_per_uid = 1000", "max_connections_per_uid = -1", "max_connections = 50\nreserved_connections = 50"} {
		if _, err := parse(t, bad).serverLimits(1024); err == nil || !strings.HasPrefix(err.Error(), "lsad: config:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
