// Package sspinet gives authenticated, protected connections over any
// net.Conn, in the shape of crypto/tls: [Client], [Server], [Dial] and
// [Listen] return a [*Conn] that implements net.Conn. The connection first
// runs an SSPI handshake (InitializeSecurityContext on the client,
// AcceptSecurityContext on the server, tokens in length-prefixed frames),
// then carries records sealed with EncryptMessage (or, by configuration,
// signed only), with the package's sequence numbers guarding against
// replay, reordering and truncation. doc/sspinet.md specifies the framing.
package sspinet

import (
	"context"
	"fmt"
	"time"

	"github.com/opensspi/sspi"
)

// Config configures a client or a server connection. A Config may be
// shared by many connections and must not be modified after first use.
type Config struct {
	// Provider reaches the LSA; nil means sspi.Default().
	Provider *sspi.Provider
	// Package is the security package, such as "NTLM" or "Negotiate".
	Package string
	// Credentials are used when set. Otherwise a client connection
	// acquires outbound credentials with Identity and frees them when it
	// closes; a listener (Listen, NewListener) acquires inbound
	// credentials with Principal once, when its first handshake needs
	// them, shares them among its connections and frees them when it
	// closes; a lone Server connection acquires its own once the client's
	// first token has arrived.
	Credentials *sspi.Credentials
	// Identity is the client's explicit credentials; nil means the
	// caller's default credentials (its logon session in the LSA).
	Identity *sspi.AuthIdentity
	// Target is the server's principal name the client asks for, such as
	// "HOST/server.example.com".
	Target string
	// Principal is the name a server accepts as.
	Principal string
	// Records is how records are protected; both sides must agree. The
	// zero value, RecordsSealed, seals each record with the package's
	// EncryptMessage.
	Records RecordProtection
	// MaxRecordSize bounds the plaintext of one record; zero means
	// 64 KiB. Writes are split into records of at most this size, and a
	// peer's record larger than it ends the connection.
	MaxRecordSize int
	// HandshakeTimeout bounds the handshake from its start, whatever
	// the peer sends meanwhile (the earlier of it and the deadline of the
	// context passed to Handshake applies); zero means 30 seconds. On a
	// server this is the time an unauthenticated client may hold the
	// connection. A handshake that reaches it fails with
	// SEC_E_CONTEXT_EXPIRED.
	HandshakeTimeout time.Duration
	// MaxHandshakes bounds, per listener, the server handshakes that hold
	// a security context in the LSA at once; zero means 256. A client
	// whose first token arrives while that many are running waits (within
	// its handshake timeout) without holding any LSA handle, so that
	// unauthenticated peers cannot use up the handle quota the LSA grants
	// the server's uid.
	MaxHandshakes int
	// Authorize, on a server, decides whether an authenticated client
	// may use the connection; an error refuses it (the client sees
	// SEC_E_LOGON_DENIED). Nil admits every authenticated client.
	Authorize func(ctx context.Context, id *sspi.Identity) error
	// OnLeg, if not nil, is called with each handshake leg this side
	// runs: for tracing (the CLI's -v). It must not block.
	OnLeg func(Leg)
	// ClientFlags and ServerFlags add to the context requirements the
	// connection always asks for (mutual authentication where the
	// package offers it, replay and sequence detection, integrity and,
	// unless Records is RecordsSigned, confidentiality).
	ClientFlags sspi.ISCFlags
	ServerFlags sspi.ASCFlags
}

const (
	defaultMaxRecord        = 64 << 10
	defaultHandshakeTimeout = 30 * time.Second
	defaultMaxHandshakes    = 256
	// maxTokenFrame bounds a handshake frame: the LSA's token limit and
	// some room.
	maxTokenFrame = 64 << 10
)

func (c *Config) maxRecord() int {
	if c.MaxRecordSize > 0 {
		return c.MaxRecordSize
	}
	return defaultMaxRecord
}

func (c *Config) handshakeTimeout() time.Duration {
	if c.HandshakeTimeout > 0 {
		return c.HandshakeTimeout
	}
	return defaultHandshakeTimeout
}

func (c *Config) maxHandshakes() int {
	if c.MaxHandshakes > 0 {
		return c.MaxHandshakes
	}
	return defaultMaxHandshakes
}

func (c *Config) provider() (*sspi.Provider, error) {
	if c.Provider != nil {
		return c.Provider, nil
	}
	return sspi.Default()
}

func (c *Config) clientFlags() sspi.ISCFlags {
	f := c.ClientFlags | sspi.ISCReqMutualAuth | sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect | sspi.ISCReqIntegrity | sspi.ISCReqConnection
	if c.Records != RecordsSigned {
		f |= sspi.ISCReqConfidentiality
	}
	return f
}

func (c *Config) serverFlags() sspi.ASCFlags {
	f := c.ServerFlags | sspi.ASCReqMutualAuth | sspi.ASCReqReplayDetect | sspi.ASCReqSequenceDetect | sspi.ASCReqIntegrity | sspi.ASCReqConnection
	if c.Records != RecordsSigned {
		f |= sspi.ASCReqConfidentiality
	}
	return f
}

// RecordProtection says how an sspinet connection protects its records.
type RecordProtection uint8

// Record protections. Their values are the bytes of the client's records
// frame (doc/sspinet.md).
const (
	// RecordsSealed seals each record with the security package
	// (EncryptMessage / DecryptMessage), with its sequence numbers.
	RecordsSealed RecordProtection = iota
	// RecordsSigned signs each record with the package, leaving the data
	// in clear (EncryptMessage with SECQOP_WRAP_NO_ENCRYPT).
	RecordsSigned
	// RecordsSessionKey seals each record with AES-256-GCM under keys
	// derived from the context's session key (HKDF-SHA256, one key per
	// direction), the way SMB 3 derives its encryption keys from the
	// session key: the package authenticates, a modern AEAD protects the
	// data. It needs a package that yields a session key, and is much
	// faster than NTLM's RC4 sealing.
	RecordsSessionKey
)

// String names the protection.
func (r RecordProtection) String() string {
	switch r {
	case RecordsSealed:
		return "sealed"
	case RecordsSigned:
		return "signed"
	case RecordsSessionKey:
		return "session-key"
	}
	return fmt.Sprintf("RecordProtection(%d)", uint8(r))
}

// Leg describes one call of InitializeSecurityContext or
// AcceptSecurityContext in a handshake, for Config.OnLeg.
type Leg struct {
	Client  bool        // the client's InitializeSecurityContext (else the server's Accept)
	Package string      // the package
	In, Out int         // token bytes received and to send
	Status  sspi.Status // the leg's status (an error's status if it failed)
	Err     error       // the leg's error, if any
}
