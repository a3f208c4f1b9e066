package engine

import (
	"context"
	"io"
	"os"
	"syscall"

	"github.com/opensspi/sspi/secpkg"
)

var _ secpkg.CallerFileReader = (*packageFunctions)(nil)

// ReadCallerFile implements secpkg.CallerFileReader: Config.ReadCallerFile,
// or a plain read for a caller that could read the file anyway (in the
// LSA's process, or of its uid).
func (f *packageFunctions) ReadCallerFile(ctx context.Context, path string, max int64) ([]byte, error) {
	ci := f.caller(ctx)
	if hook := f.e.cfg.ReadCallerFile; hook != nil {
		return hook(ci, path, max)
	}
	if !ci.InProcess && int64(ci.UID) != int64(os.Geteuid()) {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: cannot open files with the rights of uid %d: pass the file's contents instead", ci.UID)
	}
	return ReadRegularFile(path, max)
}

// ReadRegularFile reads a regular file of at most max bytes, without
// blocking on a FIFO or a device: what an LSA reads for a caller.
func ReadRegularFile(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: %s is not a regular file", path)
	}
	if fi.Size() > max {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: %s is larger than %d bytes", path, max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: reading %s: %w", path, err)
	}
	if int64(len(b)) > max {
		clear(b)
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: %s is larger than %d bytes", path, max)
	}
	return b, nil
}
