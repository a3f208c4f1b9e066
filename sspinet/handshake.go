package sspinet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/opensspi/sspi"
)

// Handshake runs the SSPI handshake if it has not run yet. Read and Write
// call it; calling it first lets a caller bound it with ctx and see its
// error. A failed handshake's error is returned by every later call.
//
// The handshake ends by Config.HandshakeTimeout or ctx's deadline,
// whichever comes first, however the peer paces its bytes. Like
// crypto/tls, it leaves the deadlines the caller set on the connection
// alone: they apply to the handshake's reads and writes too, and still
// apply after it.
func (c *Conn) Handshake(ctx context.Context) error {
	if c.hsDone.Load() {
		return c.hsErr
	}
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	if c.hsDone.Load() {
		return c.hsErr
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.handshakeTimeout())
	defer cancel()
	// Close cancels a handshake in progress, also one that waits for the
	// LSA or for a listener's handshake slot.
	c.hsCancel.Store(&cancel)
	defer c.hsCancel.Store(nil)
	if c.closing.Load() {
		c.hsErr = errors.New("sspinet: connection closed before the handshake")
		c.hsDone.Store(true)
		return c.hsErr
	}
	// When ctx ends, a read or write in progress ends too: the deadline
	// moves to the past. That only happens to a handshake that fails,
	// whose connection is of no further use.
	interrupt := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	if c.isClient {
		c.hsErr = c.clientHandshake(ctx)
	} else {
		c.hsErr = c.serverHandshake(ctx)
	}
	if !interrupt() && c.hsErr == nil {
		// ctx ended as the handshake finished: the deadline may have
		// moved, so the connection cannot be trusted to work.
		c.hsErr = ctx.Err()
	}
	if c.hsErr != nil && ctx.Err() != nil {
		c.hsErr = fmt.Errorf("sspinet: handshake: %w", ctx.Err())
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c.hsErr = &sspi.Error{Status: sspi.StatusContextExpired, Detail: c.hsErr.Error(), Err: ctx.Err()}
		}
	}
	if c.hsErr == nil && c.cfg.Records == RecordsSessionKey {
		c.aead, c.hsErr = newRecordAEAD(c.ctx, c.isClient)
	}
	if c.hsErr == nil {
		c.fillState()
	}
	c.hsDone.Store(true)
	return c.hsErr
}

// clientCredentials returns the credentials a client connection uses.
func (c *Conn) clientCredentials(ctx context.Context) (*sspi.Credentials, error) {
	if c.cfg.Credentials != nil {
		return c.cfg.Credentials, nil
	}
	p, err := c.cfg.provider()
	if err != nil {
		return nil, err
	}
	cred, err := p.AcquireCredentials(ctx, c.cfg.Package, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: c.cfg.Identity})
	if err != nil {
		return nil, err
	}
	c.cred = cred
	return cred, nil
}

// serverCredentials returns the credentials a server connection uses: its
// listener's, shared, or (for a lone Server connection) its own.
func (c *Conn) serverCredentials(ctx context.Context) (*sspi.Credentials, error) {
	if c.cfg.Credentials != nil {
		return c.cfg.Credentials, nil
	}
	if c.ln != nil {
		return c.ln.credentials(ctx)
	}
	p, err := c.cfg.provider()
	if err != nil {
		return nil, err
	}
	cred, err := p.AcquireCredentials(ctx, c.cfg.Package, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: c.cfg.Principal})
	if err != nil {
		return nil, err
	}
	c.cred = cred
	return cred, nil
}

// clientHandshake: say which record protection the client uses, send each
// token Initialize returns, answer each token the server sends, until the
// server says the handshake is done.
func (c *Conn) clientHandshake(ctx context.Context) error {
	cred, err := c.clientCredentials(ctx)
	if err != nil {
		return err
	}
	c.client = sspi.NewClientContext(cred, &sspi.ClientConfig{Target: c.cfg.Target, Flags: c.cfg.clientFlags()})
	// The records frame goes out with the first token.
	first := appendFrame(nil, frameRecords, []byte{byte(c.cfg.Records)})
	var in []byte
	for {
		out, st, err := c.client.Initialize(ctx, in)
		c.leg(true, len(in), len(out), st, err)
		if err != nil {
			return err
		}
		if out, err = complete(&c.client.Context, st, out); err != nil {
			return err
		}
		if len(out) > 0 || first != nil {
			b := first
			if len(out) > 0 {
				b = appendFrame(b, frameToken, out)
			}
			first = nil
			if _, err := c.conn.Write(b); err != nil {
				return err
			}
		}
		typ, payload, err := c.readFrame(maxTokenFrame)
		if err != nil {
			return fmt.Errorf("sspinet: handshake: %w", err)
		}
		switch typ {
		case frameToken:
			if c.client.Established() {
				return protocolError("sspinet: server sent a token after the client finished")
			}
			in = append([]byte(nil), payload...)
		case frameDone:
			if len(payload) > 0 {
				if c.client.Established() {
					return protocolError("sspinet: server sent a token after the client finished")
				}
				out, st, err := c.client.Initialize(ctx, payload)
				c.leg(true, len(payload), len(out), st, err)
				if err != nil {
					return err
				}
				if len(out) > 0 || st != sspi.StatusOK {
					return protocolError("sspinet: server finished but the client's context says %v", st)
				}
			}
			if !c.client.Established() {
				return protocolError("sspinet: server finished before the client's context was established")
			}
			c.ctx = &c.client.Context
			return nil
		case frameError:
			return peerError(payload)
		default:
			return protocolError("sspinet: unexpected frame type %#x in the handshake", typ)
		}
	}
}

// serverHandshake: check the client's record protection, then answer
// each client token until Accept is done, then check the client against
// Authorize and say done (or why not).
//
// Nothing is asked of the LSA before the client's first token has
// arrived; a listener's connection then waits for one of the listener's
// handshake slots, so that at most MaxHandshakes unauthenticated clients
// hold a context in the LSA at once.
func (c *Conn) serverHandshake(ctx context.Context) (err error) {
	defer func() {
		var r *refusal
		switch {
		case errors.As(err, &r):
			c.writeFrame(frameError, append(binary.BigEndian.AppendUint32(nil, uint32(r.status)), r.text...))
		case err != nil && !errors.Is(err, errPeer):
			// Tell the client, tersely: the status only.
			c.writeFrame(frameError, binary.BigEndian.AppendUint32(nil, uint32(sspi.StatusOf(err))))
		}
	}()
	typ, payload, err := c.readFrame(maxTokenFrame)
	if err != nil {
		return fmt.Errorf("sspinet: handshake: %w", err)
	}
	switch {
	case typ == frameError:
		return peerError(payload)
	case typ != frameRecords || len(payload) != 1:
		return protocolError("sspinet: the handshake does not start with the client's record protection")
	case RecordProtection(payload[0]) != c.cfg.Records:
		return &refusal{status: sspi.StatusAlgorithmMismatch, text: "the server's records are " + c.cfg.Records.String(),
			err: &sspi.Error{Status: sspi.StatusAlgorithmMismatch, Detail: fmt.Sprintf(
				"sspinet: the client's records are %v, this server's %v: both sides must use the same record protection", RecordProtection(payload[0]), c.cfg.Records)}}
	}
	for {
		typ, payload, err := c.readFrame(maxTokenFrame)
		if err != nil {
			return fmt.Errorf("sspinet: handshake: %w", err)
		}
		switch typ {
		case frameToken:
		case frameError:
			return peerError(payload)
		default:
			return protocolError("sspinet: unexpected frame type %#x in the handshake", typ)
		}
		if c.server == nil {
			if c.ln != nil {
				release, err := c.ln.acquireSlot(ctx)
				if err != nil {
					return err
				}
				defer release()
			}
			cred, err := c.serverCredentials(ctx)
			if err != nil {
				return err
			}
			c.server = sspi.NewServerContext(cred, &sspi.ServerConfig{Flags: c.cfg.serverFlags()})
		}
		out, st, err := c.server.Accept(ctx, payload)
		c.leg(false, len(payload), len(out), st, err)
		if err != nil {
			return err
		}
		if out, err = complete(&c.server.Context, st, out); err != nil {
			return err
		}
		if !c.server.Established() {
			if err := c.writeFrame(frameToken, out); err != nil {
				return err
			}
			continue
		}
		if c.id, err = c.server.Identity(); err != nil {
			return err
		}
		if c.cfg.Authorize != nil {
			if err := c.cfg.Authorize(ctx, c.id); err != nil {
				return &sspi.Error{Status: sspi.StatusLogonDenied, Detail: "sspinet: not authorized: " + err.Error(), Err: err}
			}
		}
		c.ctx = &c.server.Context
		return c.writeFrame(frameDone, out)
	}
}

// leg reports a handshake leg to Config.OnLeg.
func (c *Conn) leg(client bool, in, out int, st sspi.Status, err error) {
	if c.cfg.OnLeg == nil {
		return
	}
	if err != nil {
		st = sspi.StatusOf(err)
	}
	c.cfg.OnLeg(Leg{Client: client, Package: c.cfg.Package, In: in, Out: out, Status: st, Err: err})
}

func complete(ctx *sspi.Context, st sspi.Status, out []byte) ([]byte, error) {
	if st == sspi.StatusCompleteNeeded || st == sspi.StatusCompleteAndContinue {
		return ctx.CompleteAuthToken(out)
	}
	return out, nil
}

// protocolError is a frame that breaks the framing rules: SEC_E_INVALID_TOKEN.
func protocolError(format string, args ...any) error {
	return &sspi.Error{Status: sspi.StatusInvalidToken, Detail: fmt.Sprintf(format, args...)}
}

// refusal is a server's refusal whose error frame carries text for the
// client: what the client can change (never anything about accounts).
type refusal struct {
	status sspi.Status
	text   string
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

var errPeer = errors.New("sspinet: the peer refused the handshake")

// maxPeerText bounds the text of an error frame shown to the caller.
const maxPeerText = 200

// peerError turns an error frame into an error carrying the peer's
// status, and its text (printable characters only), if any.
func peerError(payload []byte) error {
	if len(payload) < 4 {
		return &sspi.Error{Status: sspi.StatusInternalError, Detail: errPeer.Error(), Err: errPeer}
	}
	st := sspi.Status(binary.BigEndian.Uint32(payload))
	if !st.Failed() {
		st = sspi.StatusInternalError
	}
	detail := errPeer.Error()
	if text := printable(payload[4:]); text != "" {
		detail += ": " + text
	}
	return &sspi.Error{Status: st, Detail: detail, Err: errPeer}
}

// printable keeps at most maxPeerText printable characters of b.
func printable(b []byte) string {
	var sb strings.Builder
	n := 0
	for _, r := range string(b) {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			continue
		}
		if n++; n > maxPeerText {
			break
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func (c *Conn) fillState() {
	s := ConnectionState{Package: c.ctx.Package(), Mapped: c.ctx.Mapped(), Records: c.cfg.Records, Target: c.cfg.Target}
	if c.client != nil {
		s.ClientFlags = c.client.Flags()
	} else {
		s.ServerFlags = c.server.Flags()
		s.Identity = c.id
		s.Target = ""
	}
	if ni, err := c.ctx.NegotiationInfo(context.Background()); err == nil {
		s.Negotiated = ni.Package.Name
	}
	s.Sizes, _ = c.ctx.Sizes()
	c.state = s
}
