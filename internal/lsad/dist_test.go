package lsad

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi/lsa/engine"
)

// TestDistSamples checks that the sample configuration and policy that
// dist/ installs load as they are.
func TestDistSamples(t *testing.T) {
	cfg, err := LoadConfig("../../dist/lsad.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store == "" || cfg.Log.Level != "info" {
		t.Errorf("sample configuration: %+v", cfg)
	}
	if _, err := cfg.socketMode(); err != nil {
		t.Error(err)
	}
	if _, err := LoadPolicy("../../dist/policy.toml"); err != nil {
		t.Fatal(err)
	}
}

// TestDistLimits checks that every limit the sample configuration shows
// (commented out, at its default) is a key lsad knows, with a value of
// the right type, and that the defaults it shows are the engine's.
func TestDistLimits(t *testing.T) {
	b, err := os.ReadFile("../../dist/lsad.toml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "[") {
			section = line
		}
		if (section == "[limits]" || section == "[kerberos]") && strings.HasPrefix(line, "# ") && strings.Contains(line, " = ") {
			line = strings.TrimPrefix(line, "# ")
		}
		out = append(out, line)
	}
	f := filepath.Join(t.TempDir(), "lsad.toml")
	if err := os.WriteFile(f, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if l.MaxTokenSize != engine.DefaultMaxTokenSize || l.MaxLegs != engine.DefaultMaxLegs ||
		l.HandshakeTimeout.Duration != engine.DefaultHandshakeTimeout || l.MaxHandlesPerCaller != engine.DefaultMaxHandlesPerCaller ||
		l.MaxHandshakeBytesPerCaller != engine.DefaultMaxHandshakeBytesPerCaller || l.ExportLifetime.Duration != engine.DefaultExportLifetime ||
		l.MaxLogonSessionsPerCaller != engine.DefaultMaxLogonSessionsPerCaller || l.LogonSessionLifetime.Duration != engine.DefaultLogonSessionLifetime {
		t.Errorf("dist/lsad.toml shows limits %+v, not the engine's defaults", l)
	}
	k := cfg.Kerberos
	if len(k.Keytabs) != 1 || k.ClockSkew.Duration != 5*time.Minute || k.ChannelBindings != "allowed" ||
		k.Delegation != "as-configured" || k.KDCTimeout.Duration != 30*time.Second || k.MaxCachedTickets != 64 || k.InsecureLegacyETypes {
		t.Errorf("dist/lsad.toml shows [kerberos] %+v, not the package's defaults", k)
	}
	if _, err := k.kerberosPackage(); err != nil {
		t.Error(err)
	}
	if cfg.ReplayCache == "" {
		t.Error("dist/lsad.toml keeps no replay cache")
	}
}
