package secpkg

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		s      Status
		name   string
		failed bool
	}{
		{StatusOK, "SEC_E_OK", false},
		{StatusContinueNeeded, "SEC_I_CONTINUE_NEEDED", false},
		{StatusLogonDenied, "SEC_E_LOGON_DENIED", true},
		{StatusInvalidToken, "SEC_E_INVALID_TOKEN", true},
		{Status(0x80091234), "SECURITY_STATUS(0x80091234)", true},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.name {
			t.Errorf("%#x.String() = %q, want %q", uint32(tt.s), got, tt.name)
		}
		if tt.s.Failed() != tt.failed {
			t.Errorf("%v.Failed() = %v", tt.s, tt.s.Failed())
		}
	}
	// The Windows values (winerror.h).
	for s, v := range map[Status]uint32{
		StatusContinueNeeded: 0x00090312, StatusCompleteNeeded: 0x00090313, StatusCompleteAndContinue: 0x00090314,
		StatusInvalidHandle: 0x80090301, StatusInvalidToken: 0x80090308, StatusLogonDenied: 0x8009030C,
		StatusMessageAltered: 0x8009030F, StatusOutOfSequence: 0x80090310, StatusBadBindings: 0x80090346,
	} {
		if uint32(s) != v {
			t.Errorf("%v = %#x, want %#x", s, uint32(s), v)
		}
	}
	if !strings.Contains(StatusLogonDenied.Error(), "logon attempt failed") {
		t.Errorf("Error() = %q", StatusLogonDenied.Error())
	}
}

func TestErrors(t *testing.T) {
	base := errors.New("disk on fire")
	err := Errorf(StatusInternalError, "pkg: lookup: %w", base)
	if !errors.Is(err, StatusInternalError) || !errors.Is(err, base) {
		t.Fatalf("errors.Is fails on %v", err)
	}
	if StatusOf(err) != StatusInternalError {
		t.Fatalf("StatusOf = %v", StatusOf(err))
	}
	if got := err.Error(); got != "pkg: lookup: disk on fire (SEC_E_INTERNAL_ERROR)" {
		t.Fatalf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("outer: %w", Errorf(StatusLogonDenied, "ntlm: no"))
	if StatusOf(wrapped) != StatusLogonDenied {
		t.Fatal("StatusOf through a wrapper")
	}
	ae := AsError(wrapped)
	if ae.Status != StatusLogonDenied || ae.Error() != "outer: ntlm: no (SEC_E_LOGON_DENIED)" {
		t.Fatalf("AsError = %q", ae.Error())
	}
	if StatusOf(nil) != StatusOK || StatusOf(base) != StatusInternalError || StatusOf(StatusNoCredentials) != StatusNoCredentials {
		t.Fatal("StatusOf basics")
	}
	if AsError(StatusInvalidHandle).Error() != "SEC_E_INVALID_HANDLE" {
		t.Fatalf("AsError(Status) = %q", AsError(StatusInvalidHandle).Error())
	}
}

func TestFlags(t *testing.T) {
	f := ISCReqMutualAuth | ISCReqConfidentiality | ISCReqNullSession
	if got := f.String(); got != "ISC_REQ_MUTUAL_AUTH|ISC_REQ_CONFIDENTIALITY|ISC_REQ_NULL_SESSION" {
		t.Errorf("String = %q", got)
	}
	// Bits above 0x20 differ between ISC and ASC; the shared meaning maps
	// them.
	if ISCReqIntegrity != 0x10000 || ASCReqIntegrity != 0x20000 || ISCReqIdentify != 0x20000 || ASCReqIdentify != 0x80000 {
		t.Fatal("Windows bit values changed")
	}
	c := (ISCReqIntegrity | ISCReqIdentify | ISCReqNullSession).Context()
	if c != FlagIntegrity|FlagIdentify|FlagNullSession {
		t.Fatalf("Context() = %v", c)
	}
	if got := c.ASC(); got != ASCReqIntegrity|ASCReqIdentify|ASCRetNullSession {
		t.Fatalf("ASC() = %v", got)
	}
	if got := c.ISC(); got != ISCReqIntegrity|ISCReqIdentify|ISCReqNullSession {
		t.Fatalf("ISC() = %v", got)
	}
	if got := (ASCReqAllowMissingBindings | ASCReqStream).Context(); got != FlagAllowMissingBindings|FlagStream {
		t.Fatalf("ASC Context() = %v", got)
	}
	if (CapIntegrity | CapPrivacy).String() != "SECPKG_FLAG_INTEGRITY|SECPKG_FLAG_PRIVACY" {
		t.Fatal(CapIntegrity | CapPrivacy)
	}
	if ISCFlags(0).String() != "0" || ISCFlags(1<<40).String() != "0x10000000000" {
		t.Fatal("edge strings")
	}
}

func TestChannelBindings(t *testing.T) {
	cb := &ChannelBindings{InitiatorAddrType: 2, InitiatorAddress: []byte{127, 0, 0, 1}, ApplicationData: []byte("tls-server-end-point:abc")}
	b := cb.Marshal()
	got, err := ParseChannelBindings(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), b) || got.InitiatorAddrType != 2 || string(got.ApplicationData) != "tls-server-end-point:abc" {
		t.Fatalf("round trip: %+v", got)
	}
	// The flat form hashed by Kerberos and NTLM.
	want := []byte{2, 0, 0, 0, 4, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 0, 0}
	want = append(want, "tls-server-end-point:abc"...)
	if !bytes.Equal(cb.GSSEncoding(), want) {
		t.Fatalf("GSSEncoding = %x", cb.GSSEncoding())
	}
	for _, bad := range [][]byte{nil, b[:31], append(b[:len(b)-1:len(b)-1], 0)[:len(b)-1]} {
		if _, err := ParseChannelBindings(bad); err == nil {
			t.Errorf("ParseChannelBindings(%x) succeeded", bad)
		}
	}
}

func TestAuthIdentityRedacts(t *testing.T) {
	a := &AuthIdentity{User: "alice", Domain: "EX", Password: []byte("hunter2")}
	for _, s := range []string{a.String(), fmt.Sprintf("%v", a), fmt.Sprintf("%#v", a), fmt.Sprintf("%+v", a.LogValue())} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("password printed: %s", s)
		}
	}
}

func TestHandleTable(t *testing.T) {
	var tab HandleTable[string]
	seen := map[Handle]bool{}
	for i := 0; i < 1000; i++ {
		h := tab.Add("v")
		if h == 0 || seen[h] {
			t.Fatalf("handle %v reused or zero", h)
		}
		seen[h] = true
	}
	for h := range seen {
		if v, ok := tab.Delete(h); !ok || v != "v" {
			t.Fatal("Delete")
		}
	}
	if tab.Len() != 0 {
		t.Fatal("not empty")
	}
	a, b := tab.Add("a"), tab.Add("b")
	got := tab.Drain()
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b"}) || tab.Len() != 0 {
		t.Fatalf("Drain returned %q, left %d", got, tab.Len())
	}
	if _, ok := tab.Get(a); ok {
		t.Fatal("handle alive after Drain")
	}
	if _, ok := tab.Delete(b); ok {
		t.Fatal("handle alive after Drain")
	}
}

func TestRegistry(t *testing.T) {
	Register("RegistryTestPkg", nopPackage{})
	if _, name, ok := Lookup("registrytestpkg"); !ok || name != "RegistryTestPkg" {
		t.Fatal("Lookup")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate Register did not panic")
		}
	}()
	Register("REGISTRYTESTPKG", nopPackage{})
}

type nopPackage struct{}

func (nopPackage) LSAModeInitialize(uint32) (uint32, LSAPackage, error) { return 0, nil, nil }

func FuzzParseChannelBindings(f *testing.F) {
	// A complete structure with all three fields.
	f.Add((&ChannelBindings{InitiatorAddrType: 2, InitiatorAddress: []byte{1, 2, 3, 4}, AcceptorAddrType: 2, AcceptorAddress: []byte{5, 6, 7, 8}, ApplicationData: []byte("tls-unique:xyz")}).Marshal())
	// Application data only, as TLS bindings are.
	f.Add((&ChannelBindings{ApplicationData: []byte("tls-exporter:0123456789abcdef")}).Marshal())
	// Header only.
	f.Add(make([]byte, 32))
	// An offset pointing past the end.
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		cb, err := ParseChannelBindings(b)
		if err != nil {
			return
		}
		// What parses re-parses to the same values.
		again, err := ParseChannelBindings(cb.Marshal())
		if err != nil || !bytes.Equal(again.GSSEncoding(), cb.GSSEncoding()) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
