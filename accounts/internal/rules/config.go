// Package rules is what every account store backend applies alike: the
// options resolved, names folded and checked, accounts normalized, and the
// lockout state machine. The backends (accounts/sqlite, accounts/postgres,
// accounts/memory) share it so that they agree exactly; the conformance
// suite (accounts/storetest) proves that they do.
package rules

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/opensspi/sspi/accounts"
)

// Config is accounts.Options resolved when a store is opened.
type Config struct {
	Policy accounts.LockoutPolicy
	Log    *slog.Logger // never nil
	Create bool
	now    func() time.Time
}

// NewConfig resolves opts (nil means the defaults) and checks the policy.
func NewConfig(opts *accounts.Options) (*Config, error) {
	c := &Config{Policy: accounts.DefaultLockoutPolicy, now: time.Now}
	if opts != nil {
		if opts.Lockout != nil {
			c.Policy = *opts.Lockout
		}
		if opts.Now != nil {
			c.now = opts.Now
		}
		c.Log = opts.Logger
		c.Create = opts.Create
	}
	if err := validate(c.Policy); err != nil {
		return nil, err
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func validate(p accounts.LockoutPolicy) error {
	switch {
	case p.Threshold < 0:
		return fmt.Errorf("accounts: negative lockout threshold %d", p.Threshold)
	case p.Window < 0:
		return fmt.Errorf("accounts: negative lockout window %v", p.Window)
	case p.Duration < 0:
		return fmt.Errorf("accounts: negative lockout duration %v", p.Duration)
	}
	return nil
}

// Stamp is the store's current time as stored.
func (c *Config) Stamp() time.Time { return NormTime(c.now()) }

// LogonTime is the time a logon is recorded at: now, or the store's
// clock when now is zero.
func (c *Config) LogonTime(now time.Time) time.Time {
	if now.IsZero() {
		return c.Stamp()
	}
	return NormTime(now)
}
