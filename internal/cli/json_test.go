package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// TestParseLogonID: a logon id reads back in either form the commands
// accept, hex with or without 0x, and nothing else.
func TestParseLogonID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want secpkg.LogonID
		ok   bool
	}{
		{"0x1a2b", 0x1a2b, true},
		{"1a2b", 0x1a2b, true},
		{"0X1A2B", 0x1a2b, true},
		{secpkg.LogonID(0xfedcba9876543210).String(), 0xfedcba9876543210, true},
		{"10", 0x10, true},
		{"", 0, false},
		{"0x", 0, false},
		{"xyz", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"0x1_0", 0, false},
		{"10000000000000000", 0, false},
	} {
		got, ok := parseLogonID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseLogonID(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestDefaultTarget: connect's default target names the server's host,
// or this host for a loopback address, where serve's default principal
// names this host.
func TestDefaultTarget(t *testing.T) {
	for _, tc := range []struct{ pkg, service string }{{"NTLM", "HOST"}, {"Kerberos", "host"}, {"Negotiate", "host"}} {
		here := defaultPrincipal(tc.pkg)
		if want := tc.service + "/" + thisHost(); here != want {
			t.Errorf("defaultPrincipal(%q) = %q, want %q", tc.pkg, here, want)
		}
		for addr, want := range map[string]string{
			"127.0.0.1:7000":          here,
			"[::1]:7000":              here,
			"localhost:7000":          here,
			":7000":                   here,
			"server.example.com:7000": tc.service + "/server.example.com",
			"192.0.2.1:7000":          tc.service + "/192.0.2.1",
		} {
			if got := defaultTarget(addr, tc.pkg); got != want {
				t.Errorf("defaultTarget(%q, %q) = %q, want %q", addr, tc.pkg, got, want)
			}
		}
	}
}

func TestLogonPackage(t *testing.T) {
	for _, tc := range []struct {
		user, domain string
		packed       bool
		want         string
	}{
		{"alice", "", false, "NTLM"},
		{`EXAMPLE\alice`, "", false, "NTLM"},
		{"alice", "EXAMPLE", false, "NTLM"},
		{"alice@EXAMPLE.COM", "", false, "Kerberos"},
		{"alice@EXAMPLE", "", false, "Kerberos"},
		{`EXAMPLE.COM\alice`, "", false, "Kerberos"},
		{"alice", "EXAMPLE.COM", false, "Kerberos"},
		{"", "", true, "Kerberos"},
		{"alice", "", true, "Kerberos"},
	} {
		if got := logonPackage(tc.user, tc.domain, tc.packed); got != tc.want {
			t.Errorf("logonPackage(%q, %q, %v) = %q, want %q", tc.user, tc.domain, tc.packed, got, tc.want)
		}
	}
}

// TestSessionJSON: a session's tickets as --json prints them: zero times
// left out, no null list, never a key.
func TestSessionJSON(t *testing.T) {
	start := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	s := lsa.LogonSessionInfo{LogonID: 0x1a, User: "alice", Domain: "EXAMPLE.COM", Package: "Kerberos", Created: start,
		Credentials: []secpkg.CredentialInfo{{Package: "Kerberos", Client: "alice@EXAMPLE.COM", Server: "host/web@EXAMPLE.COM",
			Start: start, End: start.Add(time.Hour), Flags: "FAT", EType: "aes256-cts-hmac-sha1-96"}}}
	b, err := json.Marshal(newSessionJSON(s))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"logon_id":"0x1a","uid":0,"domain":"EXAMPLE.COM","user":"alice","package":"Kerberos","created":"2026-12-04T15:00:00Z",` +
		`"credentials":[{"package":"Kerberos","client":"alice@EXAMPLE.COM","server":"host/web@EXAMPLE.COM","start":"2026-12-04T15:00:00Z",` +
		`"end":"2026-12-04T16:00:00Z","flags":"FAT","etype":"aes256-cts-hmac-sha1-96"}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(newSessionJSON(lsa.LogonSessionInfo{LogonID: 1, Package: "NTLM"}))
	if !strings.Contains(string(b), `"credentials":[]`) {
		t.Errorf("a session without credentials: %s", b)
	}
	if got := etypes(s.Credentials[0]); got != "aes256-cts-hmac-sha1-96" {
		t.Errorf("etypes = %q", got)
	}
	if got := ticketTime(time.Time{}); got != "-" {
		t.Errorf("ticketTime(zero) = %q", got)
	}
}
