package secpkgtest

import (
	"bytes"
	"context"
	"reflect"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// recordingConn is an lsa.Conn that keeps every byte the LSA returns:
// replies, tokens, packed contexts, attributes and errors.
type recordingConn struct {
	lsa.Conn
	mu   sync.Mutex
	seen bytes.Buffer
}

func (r *recordingConn) record(vals ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vals {
		walk(reflect.ValueOf(v), &r.seen, 0)
	}
}

// walk appends every string and byte slice reachable from v.
func walk(v reflect.Value, out *bytes.Buffer, depth int) {
	if !v.IsValid() || depth > 32 {
		return
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			if !v.CanInterface() {
				walk(v.Elem(), out, depth+1)
				return
			}
			if err, ok := v.Interface().(error); ok {
				out.WriteString(err.Error())
			}
			walk(v.Elem(), out, depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			walk(v.Field(i), out, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Kind() == reflect.Slice {
				out.Write(v.Bytes())
			} else {
				for i := 0; i < v.Len(); i++ {
					out.WriteByte(byte(v.Index(i).Uint()))
				}
			}
			out.WriteByte(0)
			return
		}
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), out, depth+1)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			walk(it.Key(), out, depth+1)
			walk(it.Value(), out, depth+1)
		}
	case reflect.String:
		out.WriteString(v.String())
		out.WriteByte(0)
	}
}

func (r *recordingConn) EnumeratePackages(ctx context.Context) ([]secpkg.PackageInfo, error) {
	a, err := r.Conn.EnumeratePackages(ctx)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) AcquireCredentials(ctx context.Context, req *lsa.AcquireCredentialsRequest) (*lsa.CredentialsReply, error) {
	a, err := r.Conn.AcquireCredentials(ctx, req)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) QueryCredentials(ctx context.Context, h lsa.SecHandle) (*lsa.CredentialsReply, error) {
	a, err := r.Conn.QueryCredentials(ctx, h)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) InitializeContext(ctx context.Context, req *lsa.InitializeContextRequest) (*lsa.ContextReply, error) {
	a, err := r.Conn.InitializeContext(ctx, req)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) AcceptContext(ctx context.Context, req *lsa.AcceptContextRequest) (*lsa.ContextReply, error) {
	a, err := r.Conn.AcceptContext(ctx, req)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) ProtectMessage(ctx context.Context, req *lsa.MessageRequest) (*lsa.MessageReply, error) {
	a, err := r.Conn.ProtectMessage(ctx, req)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) QuerySessionKey(ctx context.Context, h lsa.SecHandle) ([]byte, error) {
	a, err := r.Conn.QuerySessionKey(ctx, h)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) CallPackage(ctx context.Context, h lsa.SecHandle, id uint32, in []byte) ([]byte, error) {
	a, err := r.Conn.CallPackage(ctx, h, id, in)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) ExportContext(ctx context.Context, h lsa.SecHandle, packed []byte) ([]byte, error) {
	a, err := r.Conn.ExportContext(ctx, h, packed)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) ImportContext(ctx context.Context, blob []byte) (*lsa.ImportReply, error) {
	a, err := r.Conn.ImportContext(ctx, blob)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) LogonUser(ctx context.Context, req *lsa.LogonUserRequest) (*lsa.LogonSessionInfo, error) {
	a, err := r.Conn.LogonUser(ctx, req)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) LogonSessions(ctx context.Context) ([]lsa.LogonSessionInfo, error) {
	a, err := r.Conn.LogonSessions(ctx)
	r.record(a, err)
	return a, err
}

func (r *recordingConn) DeleteContext(ctx context.Context, h lsa.SecHandle) error {
	err := r.Conn.DeleteContext(ctx, h)
	r.record(err)
	return err
}

func (r *recordingConn) FreeCredentials(ctx context.Context, h lsa.SecHandle) error {
	err := r.Conn.FreeCredentials(ctx, h)
	r.record(err)
	return err
}

// utf16le encodes s the way Windows protocols carry passwords.
func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// testNoSecrets runs everything an application does (handshakes with
// explicit and default credentials, a wrong password, messages on both
// paths, attributes, export and import) over a connection that records
// every reply, then looks for the password and the other long-term
// secrets in what it recorded.
func testNoSecrets(t *testing.T, cfg *Config) {
	h := cfg.NewHarness(t)
	rec := &recordingConn{Conn: h.Connect(t)}
	p := sspi.NewProvider(rec, nil)
	defer p.Close()
	e := &env{t: t, h: h, p: p}
	ctx := context.Background()
	pr, err := e.handshake(cfg, cfg.identity(cfg.User, cfg.Password))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	for _, d := range sides(pr) {
		if tok, err := d.from.Wrap([]byte("payload"), !cfg.NoSealing); err == nil {
			d.to.Unwrap(tok)
		}
		d.from.SessionKey()
		d.from.Names()
		d.from.NativeNames()
		d.from.Sizes()
	}
	pr.server.Identity()
	if cfg.Exportable {
		if blob, err := pr.client.Export(ctx); err == nil {
			if ic, err := p.ImportContext(ctx, blob); err == nil {
				ic.Delete()
			}
		}
	}
	e.handshake(cfg, cfg.identity(cfg.User, append([]byte("x"), cfg.Password...)))
	if ls, err := p.LogonUser(ctx, cfg.Package, cfg.identity(cfg.User, cfg.Password)); err == nil {
		p.LogonSessions(ctx)
		if pr, err := e.handshake(cfg, nil); err == nil {
			pr.client.Wrap([]byte("default"), !cfg.NoSealing)
		}
		p.Logoff(ctx, ls.LogonID)
	}

	secrets := [][]byte{cfg.Password, utf16le(string(cfg.Password))}
	secrets = append(secrets, cfg.Secrets...)
	rec.mu.Lock()
	seen := rec.seen.Bytes()
	rec.mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("nothing recorded")
	}
	for i, s := range secrets {
		if len(s) >= 4 && bytes.Contains(seen, s) {
			t.Errorf("long-term secret #%d (%d bytes) crossed the LSA seam", i, len(s))
		}
	}
}
