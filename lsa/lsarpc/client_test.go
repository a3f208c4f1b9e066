package lsarpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// TestClientReplyPaths: the client's reader decodes a reply where it lies
// in its read buffer when the frame fits there, and reads a larger one
// into a buffer of its own. A server answers an EnumeratePackages call
// with a reply three times the buffer's size, then two calls in flight at
// once with their replies in one write (their frames share the buffer),
// then a call with a reply whose body is not the message it should be,
// then one more: each call gets its own reply, whole, the malformed one
// an error that says so, and the connection lives on.
func TestClientReplyPaths(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	big := strings.Repeat("x", 48<<10)
	answer := func(nc net.Conn, names ...string) {
		var out []byte
		for _, name := range names {
			b, err := readFrame(nc, MaxFrame)
			if err != nil {
				return
			}
			var req request
			decMode.Unmarshal(b, &req)
			var body []byte
			if name == "malformed" {
				body, _ = encMode.Marshal("not a packages reply")
			} else {
				comment := ""
				if name == "big" {
					comment = big
				}
				body, _ = encMode.Marshal(&packagesReply{Packages: []wirePackageInfo{{Name: name, Comment: comment}}})
			}
			out = append(out, frame(&reply{ID: req.ID, Body: body})...)
		}
		nc.Write(out)
	}
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		readFrame(nc, MaxFrame)
		body, _ := encMode.Marshal(&helloReply{Version: Version})
		nc.Write(frame(&reply{Body: body}))
		answer(nc, "big")
		answer(nc, "one", "two")
		answer(nc, "malformed")
		answer(nc, "after")
		io.Copy(io.Discard, nc) // until the client closes
	}()
	c, err := dial(t, path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ps, err := c.EnumeratePackages(ctx)
	if err != nil || len(ps) != 1 || ps[0].Name != "big" || ps[0].Comment != big {
		t.Fatalf("large reply: %d packages, %v", len(ps), err)
	}
	names := make(chan string, 2)
	for range 2 {
		go func() {
			ps, err := c.EnumeratePackages(ctx)
			if err != nil || len(ps) != 1 {
				names <- fmt.Sprintf("%v, %v", ps, err)
				return
			}
			names <- ps[0].Name
		}()
	}
	if a, b := <-names, <-names; a+b != "onetwo" && a+b != "twoone" {
		t.Fatalf("two replies in one write: %q and %q", a, b)
	}
	_, err = c.EnumeratePackages(ctx)
	if !errors.Is(err, secpkg.StatusInternalError) || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("malformed reply: %v, want SEC_E_INTERNAL_ERROR saying malformed", err)
	}
	if ps, err = c.EnumeratePackages(ctx); err != nil || len(ps) != 1 || ps[0].Name != "after" {
		t.Fatalf("reply after a malformed one: %v, %v", ps, err)
	}
}
