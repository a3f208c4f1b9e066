package krb5

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// TestReplayKeyStable: the replay key is what the LSA's replay cache file
// keeps across restarts, so its derivation must not change: it is the
// SHA-256 of the version string, the length-prefixed text forms of the
// client and the server, ctime, cusec and the SHA-256 of the
// authenticator's ciphertext, computed here step by step, for names that
// need escaping and names longer than the stack buffer.
func TestReplayKeyStable(t *testing.T) {
	ref := func(client, server Principal, ctime time.Time, cusec int32, ct []byte) ReplayKey {
		h := sha256.New()
		h.Write([]byte("OpenSSPI krb5 replay cache v1\x00"))
		for _, s := range []string{client.String(), server.String()} {
			h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
			h.Write([]byte(s))
		}
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(ctime.Unix())))
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(cusec)))
		sum := sha256.Sum256(ct)
		h.Write(sum[:])
		var k ReplayKey
		h.Sum(k[:0])
		return k
	}
	now := time.Unix(1700000000, 0)
	long := strings.Repeat("x", 700)
	cases := [][2]Principal{
		{NewPrincipal(1, "R", "alice"), NewPrincipal(3, "R", "host", "h")},
		{NewPrincipal(1, "EX/AMPLE", "a/b@c\\d\n\t\b\x00"), NewPrincipal(2, "", "svc")},
		{NewPrincipal(1, "R", long), NewPrincipal(3, long, "host", long)},
	}
	for i, c := range cases {
		if got, want := replayKey(c[0], c[1], now, 123456, []byte("ct")), ref(c[0], c[1], now, 123456, []byte("ct")); got != want {
			t.Fatalf("case %d: %v, want %v", i, got, want)
		}
	}
	if got := NewPrincipal(1, "EX/AMPLE", "a/b@c\\d\n\t\b\x00").String(); got != `a\/b\@c\\d\n\t\b\0@EX/AMPLE` {
		t.Fatalf("String: %q", got)
	}
}
