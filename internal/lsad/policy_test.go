package lsad

import (
	"errors"
	"strings"
	"testing"

	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

const samplePolicy = `
[default]
packages = ["NTLM"]
initiate = true

[[rule]]
uid = 0
packages = ["*"]
accept = ["*"]
explicit_credentials = true
initiate = true
admin = true

[[rule]]
gid = 33
packages = ["NTLM", "Negotiate"]
accept = ["HTTP/*"]

[[rule]]
uid = 1000
packages = ["NTLM"]
explicit_credentials = true
`

func TestPolicyMostSpecific(t *testing.T) {
	p, err := ParsePolicy(samplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	acquire := func(pkg, principal string, use secpkg.CredentialUse, explicit bool) engine.Access {
		return engine.Access{Kind: engine.AccessAcquireCredentials, Package: pkg, Principal: principal, Use: use, Explicit: explicit}
	}
	tests := []struct {
		name   string
		caller secpkg.CallInfo
		access engine.Access
		ok     bool
	}{
		{"root accepts anything", secpkg.CallInfo{UID: 0}, acquire("Kerberos", "host/x", secpkg.CredentialInbound, false), true},
		{"root administers", secpkg.CallInfo{UID: 0}, engine.Access{Kind: engine.AccessAdminister}, true},
		{"www-data accepts HTTP", secpkg.CallInfo{UID: 33, GID: 33}, acquire("NTLM", "HTTP/web.example.com", secpkg.CredentialInbound, false), true},
		{"www-data not as host", secpkg.CallInfo{UID: 33, GID: 33}, acquire("NTLM", "host/web.example.com", secpkg.CredentialInbound, false), false},
		{"www-data no Kerberos", secpkg.CallInfo{UID: 33, GID: 33}, acquire("Kerberos", "HTTP/web", secpkg.CredentialInbound, false), false},
		{"www-data no passwords", secpkg.CallInfo{UID: 33, GID: 33}, acquire("NTLM", "", secpkg.CredentialOutbound, true), false},
		{"www-data no admin", secpkg.CallInfo{UID: 33, GID: 33}, engine.Access{Kind: engine.AccessAdminister}, false},
		// uid 1000 has its own rule, which wins over its gid's.
		{"uid rule beats gid rule", secpkg.CallInfo{UID: 1000, GID: 33}, acquire("NTLM", "HTTP/x", secpkg.CredentialInbound, false), false},
		{"uid 1000 explicit", secpkg.CallInfo{UID: 1000, GID: 33}, acquire("NTLM", "", secpkg.CredentialOutbound, true), true},
		{"uid 1000 no default creds", secpkg.CallInfo{UID: 1000, GID: 1000}, acquire("NTLM", "", secpkg.CredentialOutbound, false), false},
		{"default initiates", secpkg.CallInfo{UID: 4242, GID: 4242}, acquire("ntlm", "", secpkg.CredentialOutbound, false), true},
		{"default may not accept", secpkg.CallInfo{UID: 4242, GID: 4242}, acquire("NTLM", "HTTP/x", secpkg.CredentialInbound, false), false},
		{"default no logon", secpkg.CallInfo{UID: 4242}, engine.Access{Kind: engine.AccessLogonUser, Package: "NTLM", Explicit: true}, false},
	}
	for _, tt := range tests {
		err := p.Authorize(tt.caller, tt.access)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
		if err != nil && !errors.Is(err, secpkg.StatusNotOwner) {
			t.Errorf("%s: refusal without SEC_E_NOT_OWNER: %v", tt.name, err)
		}
	}
}

func TestPolicyAmbiguityRefused(t *testing.T) {
	for name, text := range map[string]string{
		"two uid rules":   "[[rule]]\nuid = 5\n[[rule]]\nuid = 5\n",
		"two gid rules":   "[[rule]]\ngid = 5\n[[rule]]\ngid = 5\n",
		"uid and gid":     "[[rule]]\nuid = 5\ngid = 5\n",
		"neither":         "[[rule]]\nadmin = true\n",
		"default with id": "[default]\nuid = 3\n",
		"unknown key":     "[[rule]]\nuid = 5\nadmn = true\n",
		"bad pattern":     "[[rule]]\nuid = 5\naccept = [\"HTTP/[\"]\n",
	} {
		if _, err := ParsePolicy(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// No default rule: callers without a rule get nothing.
	p, err := ParsePolicy("[[rule]]\nuid = 0\npackages = [\"*\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Authorize(secpkg.CallInfo{UID: 7}, engine.Access{Kind: engine.AccessAcquireCredentials, Package: "NTLM"}); err == nil || !strings.Contains(err.Error(), "no rule") {
		t.Fatalf("caller without a rule: %v", err)
	}
}

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Authorize(secpkg.CallInfo{UID: 1000}, engine.Access{Kind: engine.AccessAcquireCredentials, Package: "NTLM", Principal: "HTTP/x", Use: secpkg.CredentialInbound}); err != nil {
		t.Fatal(err)
	}
	if err := p.Authorize(secpkg.CallInfo{UID: 1000}, engine.Access{Kind: engine.AccessAdminister}); err == nil {
		t.Fatal("uid 1000 may administer by default")
	}
	if err := p.Authorize(secpkg.CallInfo{UID: 0}, engine.Access{Kind: engine.AccessAdminister}); err != nil {
		t.Fatal(err)
	}
}
