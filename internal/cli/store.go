package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/embedded"
	"github.com/opensspi/sspi/lsa"
)

// storeDir and storeFile make the default account store of a user without
// --store or SSPI_STORE: $XDG_DATA_HOME/opensspi/accounts.db, that is
// ~/.local/share/opensspi/accounts.db by default (the XDG Base Directory
// Specification's place for user data).
const (
	storeDir  = "opensspi"
	storeFile = "accounts.db"
)

// defaultStoreHelp says where the default store is, for help texts.
const defaultStoreHelp = "sqlite:$XDG_DATA_HOME/opensspi/accounts.db\n(~/.local/share/opensspi/accounts.db without XDG_DATA_HOME)"

// defaultStorePath is the default account store's file, or "" when
// neither XDG_DATA_HOME nor HOME says where a user's data goes.
func (e *env) defaultStorePath() string {
	// The specification ignores a relative XDG_DATA_HOME.
	if d := e.getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, storeDir, storeFile)
	}
	if h := e.getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", storeDir, storeFile)
	}
	return ""
}

// storeChoice is the account store a command uses, and why.
type storeChoice struct {
	dsn      string // "" when there is none
	explicit bool   // from --store or SSPI_STORE, not the default
	missing  bool   // the default, which does not exist (yet)
}

// store resolves the account store: --store, else SSPI_STORE, else the
// default file if it exists. The default that does not exist is
// reported as missing: commands that only use a store then run without
// one, commands that administer it say where it would be.
func (e *env) storeChoice() storeChoice {
	if dsn := e.storeDSN(); dsn != "" {
		return storeChoice{dsn: dsn, explicit: true}
	}
	path := e.defaultStorePath()
	if path == "" {
		return storeChoice{}
	}
	c := storeChoice{dsn: "sqlite:" + path}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		c.missing = true
	}
	return c
}

// usedStore is the data source name an LSA in this process opens: the
// choice, unless it is the default and missing.
func (c storeChoice) usedStore() string {
	if c.missing {
		return ""
	}
	return c.dsn
}

// noStore is the error of an administrative command without a store.
func (e *env) noStore(c storeChoice) error {
	if c.dsn == "" {
		return hint(errors.New("no account store"), "give --store sqlite:PATH (or set SSPI_STORE), or --lsa SOCKET to administer lsad's")
	}
	return hint(fmt.Errorf("%w at %s", accounts.ErrNoStore, strings.TrimPrefix(c.dsn, "sqlite:")),
		"'sspi account add USER' creates it there; or give --store (or SSPI_STORE), or --lsa SOCKET to administer lsad's")
}

// adminCreating returns account administration that may create the store
// (sspi account add): lsad's if configured, else an LSA in this process
// on the store, created if missing. Creating the default store creates
// its directory (0700) too; a store named by --store or SSPI_STORE is
// created only in a directory that exists. When a store is created, the
// command says where on standard error.
func (e *env) adminCreating(ctx context.Context) (lsa.Conn, error) {
	if e.lsaSocket() != "" {
		return e.adminConn(ctx)
	}
	c := e.storeChoice()
	if c.dsn == "" {
		return nil, e.noStore(c)
	}
	if c.missing {
		if err := os.MkdirAll(filepath.Dir(strings.TrimPrefix(c.dsn, "sqlite:")), 0o700); err != nil {
			return nil, err
		}
	}
	created := false
	opts := &accounts.Options{Create: true, Logger: slog.New(createdHandler{&created})}
	cfg, err := embedded.Config(ctx, c.dsn, opts)
	if err != nil {
		return nil, err
	}
	conn, err := embedded.Open(cfg)
	if err != nil {
		return nil, err
	}
	conn = e.wrap(conn)
	e.closers = append(e.closers, conn.Close)
	if created {
		fmt.Fprintf(e.stderr, "sspi: created the account store %s\n", displayDSN(c.dsn))
	}
	return conn, nil
}

// createdHandler notes the store's report that it created a new store.
type createdHandler struct{ created *bool }

func (h createdHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h createdHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == accounts.LogStoreCreated {
		*h.created = true
	}
	return nil
}
func (h createdHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h createdHandler) WithGroup(string) slog.Handler      { return h }

// displayDSN is a data source name fit to print: a PostgreSQL URL loses
// its password.
func displayDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}
