package sspinet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/opensspi/sspi"
)

// Handshake runs the SSPI handshake if it has not run yet. Read and Write
// call it; calling it first lets a caller bound it with ctx and see its
// error. A failed handshake's error is returned by every later call.
func (c *Conn) Handshake(ctx context.Context) error {
	if c.hsDone.Load() {
		return c.hsErr
	}
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	if c.hsDone.Load() {
		return c.hsErr
	}
	if c.closing.Load() {
		return errors.New("sspinet: connection closed before the handshake")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.handshakeTimeout())
		defer cancel()
	}
	dl, _ := ctx.Deadline()
	c.conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	if c.isClient {
		c.hsErr = c.clientHandshake(ctx)
	} else {
		c.hsErr = c.serverHandshake(ctx)
	}
	stop()
	c.conn.SetDeadline(time.Time{})
	if c.hsErr != nil && ctx.Err() != nil {
		c.hsErr = fmt.Errorf("sspinet: handshake: %w", ctx.Err())
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

func (c *Conn) credentials(ctx context.Context, use sspi.CredentialUse) (*sspi.Credentials, error) {
	if c.cfg.Credentials != nil {
		return c.cfg.Credentials, nil
	}
	p, err := c.cfg.provider()
	if err != nil {
		return nil, err
	}
	opts := &sspi.CredentialsOptions{Identity: c.cfg.Identity}
	if use == sspi.CredentialInbound {
		opts = &sspi.CredentialsOptions{Principal: c.cfg.Principal}
	}
	cred, err := p.AcquireCredentials(ctx, c.cfg.Package, use, opts)
	if err != nil {
		return nil, err
	}
	c.cred = cred
	return cred, nil
}

// clientHandshake: send each token Initialize returns, answer each token
// the server sends, until the server says the handshake is done.
func (c *Conn) clientHandshake(ctx context.Context) error {
	cred, err := c.credentials(ctx, sspi.CredentialOutbound)
	if err != nil {
		return err
	}
	c.client = sspi.NewClientContext(cred, &sspi.ClientConfig{Target: c.cfg.Target, Flags: c.cfg.clientFlags()})
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
		if len(out) > 0 {
			if err := c.writeFrame(frameToken, out); err != nil {
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
				return errors.New("sspinet: server sent a token after the client finished")
			}
			in = append([]byte(nil), payload...)
		case frameDone:
			if len(payload) > 0 {
				if c.client.Established() {
					return errors.New("sspinet: server sent a token after the client finished")
				}
				out, st, err := c.client.Initialize(ctx, payload)
				c.leg(true, len(payload), len(out), st, err)
				if err != nil {
					return err
				}
				if len(out) > 0 || st != sspi.StatusOK {
					return fmt.Errorf("sspinet: server finished but the client's context says %v", st)
				}
			}
			if !c.client.Established() {
				return errors.New("sspinet: server finished before the client's context was established")
			}
			c.ctx = &c.client.Context
			return nil
		case frameError:
			return peerError(payload)
		default:
			return fmt.Errorf("sspinet: unexpected frame type %#x in the handshake", typ)
		}
	}
}

// serverHandshake: answer each client token until Accept is done, then
// check the client against Authorize and say done (or why not).
func (c *Conn) serverHandshake(ctx context.Context) (err error) {
	cred, err := c.credentials(ctx, sspi.CredentialInbound)
	if err != nil {
		return err
	}
	c.server = sspi.NewServerContext(cred, &sspi.ServerConfig{Flags: c.cfg.serverFlags()})
	defer func() {
		if err != nil && !errors.Is(err, errPeer) {
			// Tell the client, tersely: the status only.
			c.writeFrame(frameError, binary.BigEndian.AppendUint32(nil, uint32(sspi.StatusOf(err))))
		}
	}()
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
			return fmt.Errorf("sspinet: unexpected frame type %#x in the handshake", typ)
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

var errPeer = errors.New("sspinet: the peer refused the handshake")

// peerError turns an error frame into an error carrying the peer's status.
func peerError(payload []byte) error {
	if len(payload) < 4 {
		return fmt.Errorf("%w", errPeer)
	}
	st := sspi.Status(binary.BigEndian.Uint32(payload))
	if !st.Failed() {
		st = sspi.StatusInternalError
	}
	return &sspi.Error{Status: st, Detail: errPeer.Error(), Err: errPeer}
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
