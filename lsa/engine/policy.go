package engine

import (
	"sync"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// Access says what a caller asks to do, for Config.Authorize.
type Access struct {
	Kind AccessKind
	// Package is the package the request is for.
	Package string
	// Principal is the name credentials are acquired for (inbound: the
	// service principal to accept as).
	Principal string
	// Use is the credential use of an AcquireCredentials request.
	Use secpkg.CredentialUse
	// Explicit is set when the caller supplies explicit credentials (a
	// password) instead of using its logon session.
	Explicit bool
}

// AccessKind names the kinds of requests Config.Authorize decides.
type AccessKind uint8

// Access kinds.
const (
	AccessAcquireCredentials AccessKind = iota + 1
	AccessLogonUser
	AccessAdminister // account administration
	// AccessRegister is a registration that a one-time registration code
	// admits (lsa.Registration); Package and Principal name the package
	// and the account. A registration without a code needs
	// AccessAdminister.
	AccessRegister
)

// String names the kind.
func (k AccessKind) String() string {
	switch k {
	case AccessAcquireCredentials:
		return "acquire-credentials"
	case AccessLogonUser:
		return "logon-user"
	case AccessAdminister:
		return "administer"
	case AccessRegister:
		return "register"
	}
	return "unknown"
}

// rateLimiter is a token bucket per uid for password checks.
type rateLimiter struct {
	rate  float64 // tokens per second; 0 = unlimited
	burst float64

	mu      sync.Mutex
	buckets map[uint32]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int) *rateLimiter {
	if burst <= 0 {
		burst = int(max(rate, 1))
	}
	return &rateLimiter{rate: rate, burst: float64(burst), buckets: make(map[uint32]*bucket)}
}

// allow takes a token for uid, reporting whether one was there.
func (r *rateLimiter) allow(uid uint32, now time.Time) bool {
	if r == nil || r.rate <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[uid]
	if b == nil {
		if len(r.buckets) > 1<<16 {
			r.buckets = make(map[uint32]*bucket) // bound memory; refills everyone
		}
		b = &bucket{tokens: r.burst, last: now}
		r.buckets[uid] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(r.burst, b.tokens+el*r.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
