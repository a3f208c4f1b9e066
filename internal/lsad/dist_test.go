package lsad

import "testing"

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
