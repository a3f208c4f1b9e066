package lsad

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreCreation: lsad creates its store only with create_store; a
// missing store otherwise stops it with an error that says what to do,
// and leaves nothing behind.
func TestStoreCreation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.db")
	cfg := &Config{Socket: filepath.Join(dir, "lsad.sock"), Store: "sqlite:" + path}
	var logs bytes.Buffer
	d, err := Start(cfg, "", &logs)
	if err == nil {
		d.Stop()
		t.Fatal("lsad started on a missing store without create_store")
	}
	if !strings.Contains(err.Error(), "no account store") || !strings.Contains(err.Error(), "create_store") {
		t.Errorf("error %q does not say what is missing and how to create it", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the refused start left a store: %v", err)
	}
	cfg.CreateStore = true
	if d, err = Start(cfg, "", &logs); err != nil {
		t.Fatal(err)
	}
	d.Stop()
	if !strings.Contains(logs.String(), "accounts: created the account store") {
		t.Errorf("lsad did not log that it created the store:\n%s", logs.String())
	}
	cfg.CreateStore = false
	if d, err = Start(cfg, "", &logs); err != nil {
		t.Fatalf("lsad does not start on the store it created: %v", err)
	}
	d.Stop()
}
