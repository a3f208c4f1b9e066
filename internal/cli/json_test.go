package cli

import (
	"testing"

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
