package opaque

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opensspi/sspi/secpkg"
)

// SecretStore keeps a package's long-term secrets by name: for OPAQUE
// the server setup (RFC 9807 Section 3.1), which every record depends on
// and which must survive restarts. It is the LSA support function
// secpkg.SecretStore, which the package uses when its LSAFunctions
// implement it (the LSA then keeps the setup in its account store, shared
// by the hosts that share the store); [PackageConfig.Secrets] supplies
// another, and [FileSecretStore] is one.
//
// A store is shared by every LSA instance that serves the same accounts
// (hosts sharing one account database must share the setup), so
// CreateSecret is create-once: of two instances racing to create a
// secret, one wins and the other reads the winner's. Secret returns an
// error wrapping fs.ErrNotExist when there is none; CreateSecret one
// wrapping fs.ErrExist when there is one.
type SecretStore = secpkg.SecretStore

// setupSecretName is the name of the server setup in the SecretStore;
// its value is the RFC byte layout, oprf_seed || server_private_key.
const setupSecretName = "opaque-server-setup"

// FileSecretStore is a SecretStore of files in dir, one per secret, with
// mode 0600. A secret is written to a temporary file, synced and linked
// to its name, so that it appears whole and at most once. Reading refuses
// a file that others than its owner may read or write.
func FileSecretStore(dir string) SecretStore { return fileStore{dir} }

type fileStore struct{ dir string }

func (s fileStore) path(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name[0] == '.' {
		return "", fmt.Errorf("opaque: bad secret name %q", name)
	}
	return filepath.Join(s.dir, name), nil
}

func (s fileStore) Secret(ctx context.Context, name string) ([]byte, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opaque: secret %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opaque: secret %s: %w", name, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("opaque: secret file %s has mode %v; want a regular file of mode 0600", p, st.Mode())
	}
	if st.Size() > 1<<16 {
		return nil, fmt.Errorf("opaque: secret file %s is %d bytes", p, st.Size())
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("opaque: secret %s: %w", name, err)
	}
	return b, nil
}

func (s fileStore) CreateSecret(ctx context.Context, name string, secret []byte) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("opaque: secret %s: %w", name, fs.ErrExist)
	}
	var r [8]byte
	rand.Read(r[:])
	tmp := filepath.Join(s.dir, ".tmp-"+name+"-"+hex.EncodeToString(r[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("opaque: creating secret %s: %w", name, err)
	}
	defer os.Remove(tmp)
	_, err = f.Write(secret)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("opaque: writing secret %s: %w", name, err)
	}
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("opaque: secret %s: %w", name, fs.ErrExist)
		}
		return fmt.Errorf("opaque: storing secret %s: %w", name, err)
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
