package lsarpc

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFuzzSeeds rewrites the seed corpora of the fuzz targets
// (testdata/fuzz/FuzzXxx/NAME; testdata/fuzz/README.md says what each
// holds) from the golden cases, when LSARPC_WRITE_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("LSARPC_WRITE_SEEDS") != "1" {
		t.Skip("set LSARPC_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	frames := map[string][]byte{}
	bodies := map[string][]byte{}
	for _, gc := range goldenCases() {
		f := gc.encode(t)
		frames[gc.name] = f
		if gc.body != nil {
			bodies[gc.name], _ = encMode.Marshal(gc.body)
		}
	}
	payload := func(name string) []byte { return frames[name][4:] }
	seeds := map[string]map[string][]byte{
		"FuzzDispatch": {
			"initialize-context":   payload("InitializeContext.request"),
			"accept-context":       payload("AcceptContext.request"),
			"protect-message":      payload("ProtectMessage.request"),
			"acquire-credentials":  payload("AcquireCredentials.request"),
			"stats":                payload("Stats.request"),
			"unknown-op":           frame(&request{ID: 1, Op: "FlyToTheMoon"})[4:],
			"handle-is-text":       frame(&request{ID: 1, Op: opFreeCredentials, Body: []byte("\xa1fhandlebid")})[4:],
			"add-account-no-admin": payload("AddAccount.request"),
		},
		"FuzzReadRequest": {
			"handshake-legs-then-delete": append(append(append([]byte{}, frames["InitializeContext.request"]...), frames["AcceptContext.request"]...),
				frame(&request{ID: 20, Op: opDeleteContext, Body: []byte{0xa0}, NoReply: true})...),
			"unfinished-1mib-frame":    append(header(MaxFrame), 0xa1, 0x62),
			"zero-length":              {0, 0, 0, 0},
			"id-zero-after-hello":      frame(&request{Op: opEnumeratePackages}),
			"hello-again":              frames["hello.request"],
			"large-protect-message":    frame(&request{ID: 3, Op: opProtectMessage, Body: append([]byte("\xa1gbuffers\x81\xa1ddataZ\x00\x00\x30\x00"), make([]byte, 12<<10)...)}),
			"body-not-a-map":           frame(&request{ID: 4, Op: opLogoff, Body: []byte{0x83, 1, 2, 3}}),
			"trailing-bytes-in-frame":  append(header(3), 0xa0, 0xa0, 0xa0),
			"indefinite-length-inside": append(header(9), 0xa2, 0x62, 'i', 'd', 0x01, 0x62, 'o', 'p', 0x7f),
		},
		"FuzzCodec": {
			"context-reply-attributes": bodies["InitializeContext.reply"],
			"initialize-with-bindings": bodies["InitializeContext.request"],
			"message-buffers":          bodies["ProtectMessage.request"],
			"nulls":                    []byte("\xa3gcontext\xf6etoken\xf6jattributes\xf6"),
			"duplicate-key":            []byte("\xa2etoken\x41\x01etoken\x41\x02"),
			"time-tag-1":               []byte("\xa1fexpiry\xc1\x1a\x65\x00\x00\x00"),
		},
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
