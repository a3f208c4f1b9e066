package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
	_ "github.com/opensspi/sspi/packages/all"
)

// TestRegistrationKeepsThePassword proves that registering OPAQUE with
// the sspi command never gives the LSA the password, in both modes:
// every byte that crosses the LSA seam is captured (in embedded mode,
// every argument and result of every call on the engine's connection;
// through lsad, every frame of the LSA protocol on a real socket, both
// ways) while accounts are added with --package OPAQUE, given a password
// again with passwd, and registered by their user with a one-time code;
// then the captures are searched for each password, in UTF-8 and UTF-16,
// and its NT hash. The store holds only the OPAQUE records of these
// accounts (no NTLM verifier, which the LSA would have to make from the
// password). As a control, adding an account without --package (NTLM,
// whose verifier the LSA makes from the password) shows the password in
// the capture.
func TestRegistrationKeepsThePassword(t *testing.T) {
	for _, mode := range []string{"embedded", "lsad"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			dsn := "sqlite:" + filepath.Join(dir, "accounts.db")
			var (
				capture captured
				vars    = map[string]string{}
				hook    func(lsa.Conn) lsa.Conn
			)
			switch mode {
			case "embedded":
				// Every sspi command opens its own engine on the store.
				hook = func(c lsa.Conn) lsa.Conn { return &recordingConn{Conn: c, rec: &capture} }
				vars["SSPI_STORE"] = dsn
			case "lsad":
				vars["SSPI_LSA"] = serveRecorded(t, dir, dsn, &capture)
			}
			sspi := func(stdin string, args ...string) string {
				t.Helper()
				var out, errOut bytes.Buffer
				e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }, connHook: hook}
				if code := e.run(args); code != 0 {
					t.Fatalf("sspi %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
				}
				return out.String()
			}
			ksf := "--ksf=Argon2id(m=256,t=1,p=1)"
			passwords := []string{"bob-first-Passw0rd", "bob-second-Passw0rd", "carol-Passw0rd-é"}
			sspi("", "account", "add", "seed", "--package", "OPAQUE", "--code", "--domain", "EXAMPLE") // creates the store
			capture.reset()

			sspi(passwords[0]+"\n", "account", "add", "bob", "--domain", "EXAMPLE", "--package", "OPAQUE", "--password-stdin", ksf)
			sspi(passwords[1]+"\n", "account", "passwd", "bob", "--domain", "EXAMPLE", "--password-stdin", ksf)
			var added struct {
				Codes []struct{ Code string } `json:"registration_codes"`
			}
			if err := json.Unmarshal([]byte(sspi("", "account", "add", "carol", "--domain", "EXAMPLE", "--package", "OPAQUE", "--code", "--json")), &added); err != nil || len(added.Codes) != 1 {
				t.Fatalf("add --code: %+v, %v", added, err)
			}
			sspi(passwords[2]+"\n", "account", "register", "carol", "--domain", "EXAMPLE", "--code", added.Codes[0].Code, "--password-stdin", ksf)

			seen := capture.bytes()
			for _, marker := range []string{"BeginRegistration", "FinishRegistration"} {
				if mode == "lsad" && !bytes.Contains(seen, []byte(marker)) {
					t.Fatalf("the capture holds no %s: it did not see the registrations", marker)
				}
			}
			if n := capture.registrations(); mode == "embedded" && n != 3 {
				t.Fatalf("the capture saw %d registrations, want 3", n)
			}
			for _, pw := range passwords {
				for form, b := range passwordForms(pw) {
					if bytes.Contains(seen, b) {
						t.Errorf("the password %q crossed the LSA seam (%s)", pw, form)
					}
				}
			}

			// The store: the records only.
			store, err := accounts.Open(context.Background(), dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{"bob", "carol"} {
				a, err := store.Lookup(context.Background(), "EXAMPLE", u)
				if err != nil || len(a.Verifiers) != 1 || a.Verifiers["OPAQUE"] == nil {
					t.Errorf("%s's verifiers: %v, %v; want the OPAQUE record only", u, a, err)
				}
			}
			store.Close()
			files, _ := filepath.Glob(filepath.Join(dir, "accounts.db*"))
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, pw := range passwords {
					for form, v := range passwordForms(pw) {
						if bytes.Contains(b, v) {
							t.Errorf("%s holds the password %q (%s)", filepath.Base(f), pw, form)
						}
					}
				}
			}

			// The control: NTLM's verifier is made by the LSA from the
			// password, which the capture then holds.
			capture.reset()
			sspi("erin-Passw0rd\n", "account", "add", "erin", "--domain", "EXAMPLE", "--password-stdin")
			if !bytes.Contains(capture.bytes(), []byte("erin-Passw0rd")) {
				t.Fatalf("the capture did not see the password given to the LSA for NTLM: it sees nothing")
			}
		})
	}
}

// passwordForms are the forms of a password to look for: UTF-8, UTF-16
// (little and big endian) and its NT hash.
func passwordForms(pw string) map[string][]byte {
	var le, be []byte
	for _, u := range utf16.Encode([]rune(pw)) {
		le = append(le, byte(u), byte(u>>8))
		be = append(be, byte(u>>8), byte(u))
	}
	h := md4.New()
	h.Write(le)
	return map[string][]byte{"UTF-8": []byte(pw), "UTF-16LE": le, "UTF-16BE": be, "NT hash": h.Sum(nil)}
}

// captured is what crossed the seam: the values of the calls, and each
// direction of each proxied connection as a stream of its own (so that
// no interleaving splits a password).
type captured struct {
	mu      sync.Mutex
	b       bytes.Buffer
	streams []*stream
	regs    int
}

// stream is one direction of one connection.
type stream struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (c *captured) stream() *stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := new(stream)
	c.streams = append(c.streams, s)
	return s
}

func (c *captured) add(vals ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range vals {
		walkBytes(reflect.ValueOf(v), &c.b, 0)
	}
}

func (c *captured) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := bytes.Clone(c.b.Bytes())
	for _, s := range c.streams {
		s.mu.Lock()
		out = append(append(out, 0), s.b.Bytes()...)
		s.mu.Unlock()
	}
	return out
}

func (c *captured) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b.Reset()
	c.streams = nil
	c.regs = 0
}

func (c *captured) registrations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regs
}

// walkBytes appends every string and byte slice in v to out.
func walkBytes(v reflect.Value, out *bytes.Buffer, depth int) {
	if !v.IsValid() || depth > 16 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkBytes(v.Elem(), out, depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walkBytes(v.Field(i), out, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			out.Write(b)
			out.WriteByte(0)
			return
		}
		for i := range v.Len() {
			walkBytes(v.Index(i), out, depth+1)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walkBytes(k, out, depth+1)
			walkBytes(v.MapIndex(k), out, depth+1)
		}
	case reflect.String:
		out.WriteString(v.String())
		out.WriteByte(0)
	}
}

// recordingConn records every argument and result of the calls that
// carry data on an embedded connection: the account administration and
// registration the commands make, and (unused here, recorded all the
// same) the calls that take credentials or tokens.
type recordingConn struct {
	lsa.Conn
	rec *captured
}

func (r *recordingConn) AcquireCredentials(ctx context.Context, req *lsa.AcquireCredentialsRequest) (*lsa.CredentialsReply, error) {
	out, err := r.Conn.AcquireCredentials(ctx, req)
	r.rec.add(req, out, err)
	return out, err
}

func (r *recordingConn) LogonUser(ctx context.Context, req *lsa.LogonUserRequest) (*lsa.LogonSessionInfo, error) {
	out, err := r.Conn.LogonUser(ctx, req)
	r.rec.add(req, out, err)
	return out, err
}

func (r *recordingConn) InitializeContext(ctx context.Context, req *lsa.InitializeContextRequest) (*lsa.ContextReply, error) {
	out, err := r.Conn.InitializeContext(ctx, req)
	r.rec.add(req, out, err)
	return out, err
}

func (r *recordingConn) AcceptContext(ctx context.Context, req *lsa.AcceptContextRequest) (*lsa.ContextReply, error) {
	out, err := r.Conn.AcceptContext(ctx, req)
	r.rec.add(req, out, err)
	return out, err
}

func (r *recordingConn) AddAccount(ctx context.Context, req *lsa.AccountRequest) error {
	err := r.Conn.(lsa.Admin).AddAccount(ctx, req)
	r.rec.add(req, err)
	return err
}

func (r *recordingConn) SetPassword(ctx context.Context, req *lsa.AccountRequest) error {
	err := r.Conn.(lsa.Admin).SetPassword(ctx, req)
	r.rec.add(req, err)
	return err
}

func (r *recordingConn) DeleteAccount(ctx context.Context, domain, user string) error {
	err := r.Conn.(lsa.Admin).DeleteAccount(ctx, domain, user)
	r.rec.add(domain, user, err)
	return err
}

func (r *recordingConn) UnlockAccount(ctx context.Context, domain, user string) error {
	err := r.Conn.(lsa.Admin).UnlockAccount(ctx, domain, user)
	r.rec.add(domain, user, err)
	return err
}

func (r *recordingConn) ListAccounts(ctx context.Context) ([]lsa.AccountInfo, error) {
	out, err := r.Conn.(lsa.Admin).ListAccounts(ctx)
	r.rec.add(out, err)
	return out, err
}

func (r *recordingConn) CreateRegistrationCode(ctx context.Context, req *lsa.RegistrationCodeRequest) (*lsa.RegistrationCodeReply, error) {
	out, err := r.Conn.(lsa.Admin).CreateRegistrationCode(ctx, req)
	r.rec.add(req, out, err)
	return out, err
}

func (r *recordingConn) BeginRegistration(ctx context.Context, req *lsa.BeginRegistrationRequest) (*lsa.BeginRegistrationReply, error) {
	out, err := r.Conn.(lsa.Registration).BeginRegistration(ctx, req)
	r.rec.add(req, out, err)
	return out, err
}

func (r *recordingConn) FinishRegistration(ctx context.Context, req *lsa.FinishRegistrationRequest) error {
	err := r.Conn.(lsa.Registration).FinishRegistration(ctx, req)
	r.rec.add(req, err)
	if err == nil {
		r.rec.mu.Lock()
		r.rec.regs++
		r.rec.mu.Unlock()
	}
	return err
}

var (
	_ lsa.Admin        = (*recordingConn)(nil)
	_ lsa.Registration = (*recordingConn)(nil)
)

// serveRecorded serves an engine on the store dsn over the LSA protocol
// (lsarpc, as lsad does) behind a proxy socket that copies every byte,
// both ways, into capture; it returns the proxy's socket.
func serveRecorded(t *testing.T, dir, dsn string, capture *captured) string {
	t.Helper()
	store, err := accounts.Open(context.Background(), dsn, &accounts.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{Accounts: store})
	if err != nil {
		t.Fatal(err)
	}
	lsaSock, proxySock := filepath.Join(dir, "lsa.sock"), filepath.Join(dir, "proxy.sock")
	ln, err := net.Listen("unix", lsaSock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &lsarpc.Server{Authority: e}
	served := make(chan struct{})
	go func() { srv.Serve(ln); close(served) }()
	pln, err := net.Listen("unix", proxySock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := pln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", lsaSock)
			if err != nil {
				c.Close()
				continue
			}
			toLSA, fromLSA := capture.stream(), capture.stream()
			wg.Go(func() {
				io.Copy(io.MultiWriter(up, toLSA), c)
				up.(*net.UnixConn).CloseWrite()
			})
			wg.Go(func() {
				io.Copy(io.MultiWriter(c, fromLSA), up)
				c.Close()
			})
		}
	})
	t.Cleanup(func() {
		pln.Close()
		srv.Close()
		<-served
		wg.Wait()
		e.Close()
		store.Close()
	})
	return proxySock
}
