package sspi_test

// A test-only security package, the way database/sql tests itself with a
// fake driver. "Fake" authenticates with a password-derived key K in a
// configurable number of tokens (1 to 5, alternating client/server), each
// carrying an HMAC under K over the transcript. Its session key protects
// messages with per-direction HMAC-SHA256 and AES-CTR keys and sequence
// numbers. Variants exercise the unmapped path and CompleteAuthToken.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/opensspi/sspi/secpkg"
)

type fakeConfig struct {
	tokens         int  // tokens exchanged, first from the client
	unmapped       bool // no user-mode half: messages go to the LSA
	completeNeeded bool // the client's last token is finished by CompleteAuthToken
}

func init() {
	for n := 1; n <= 5; n++ {
		secpkg.Register(fmt.Sprintf("Fake%d", n), &fakeMappedPackage{fakePackage{name: fmt.Sprintf("Fake%d", n), cfg: fakeConfig{tokens: n}}})
	}
	secpkg.Register("FakeUnmapped", &fakePackage{name: "FakeUnmapped", cfg: fakeConfig{tokens: 3, unmapped: true}})
	secpkg.Register("FakeComplete", &fakeMappedPackage{fakePackage{name: "FakeComplete", cfg: fakeConfig{tokens: 3, completeNeeded: true}}})
}

const (
	fakeMaxToken  = 1024
	fakeSigSize   = 8 + 16     // seq, MAC
	fakeTrailer   = 8 + 1 + 16 // seq, flags, MAC
	fakeSupported = secpkg.FlagMutualAuth | secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect |
		secpkg.FlagConfidentiality | secpkg.FlagIntegrity | secpkg.FlagConnection
)

// fakePackage has an LSA-mode half only.
type fakePackage struct {
	name string
	cfg  fakeConfig
}

func (p *fakePackage) LSAModeInitialize(v uint32) (uint32, secpkg.LSAPackage, error) {
	return secpkg.InterfaceVersion, trackFake(&fakeLSA{name: p.name, cfg: p.cfg}), nil
}

// fakeMappedPackage has both halves.
type fakeMappedPackage struct{ fakePackage }

func (p *fakeMappedPackage) UserModeInitialize(v uint32) (uint32, secpkg.UserPackage, error) {
	return secpkg.InterfaceVersion, &fakeUser{pkg: p.name}, nil
}

type fakeCred struct {
	use       secpkg.CredentialUse
	user, dom string
	key       []byte // K; client credentials only
	principal string
}

type fakeCtx struct {
	server     bool
	cred       *fakeCred
	next       int // index of the next token this side expects or sends
	transcript []byte
	key        []byte // K
	acct       *secpkg.Account
	user, dom  string
	cnonce     [16]byte
	snonce     [16]byte
	flags      secpkg.ContextFlags
	sk         []byte
	done       bool
	session    *fakeSession // unmapped path
}

type fakeLSA struct {
	name  string
	cfg   fakeConfig
	lsa   secpkg.LSAFunctions
	creds secpkg.HandleTable[*fakeCred]
	ctxs  secpkg.HandleTable[*fakeCtx]
	mu    sync.Mutex
}

func fakeVerifier(user string, password []byte) []byte {
	m := hmac.New(sha256.New, password)
	m.Write([]byte("fake-verifier|" + strings.ToLower(user)))
	return m.Sum(nil)
}

func (f *fakeLSA) Initialize(ctx context.Context, id uint32, params *secpkg.Parameters, lsa secpkg.LSAFunctions) error {
	f.lsa = lsa
	return nil
}

func (f *fakeLSA) GetInfo() secpkg.PackageInfo {
	return secpkg.PackageInfo{
		Capabilities: secpkg.CapIntegrity | secpkg.CapPrivacy | secpkg.CapConnection | secpkg.CapMutualAuth | secpkg.CapLogon,
		Version:      1, RPCID: secpkg.PackageIDNone, MaxToken: fakeMaxToken, Name: f.name, Comment: "test-only package",
	}
}

func (f *fakeLSA) MakeVerifier(ctx context.Context, user, domain string, password []byte) ([]byte, error) {
	return fakeVerifier(user, password), nil
}

func (f *fakeLSA) AcquireCredentialsHandle(ctx context.Context, req *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	c := &fakeCred{use: req.Use, principal: req.Principal}
	if req.Use&secpkg.CredentialOutbound != 0 {
		switch {
		case req.Identity != nil:
			c.user, c.dom = req.Identity.User, req.Identity.Domain
			c.key = fakeVerifier(c.user, req.Identity.Password)
		case req.LogonID != 0:
			k, err := f.lsa.GetCredential(ctx, req.LogonID, "K")
			if err != nil {
				return nil, err
			}
			ls := strings.SplitN(string(k[32:]), "\x00", 2)
			c.key, c.user, c.dom = k[:32], ls[0], ls[1]
		default:
			return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "fake: no credentials")
		}
	}
	name := c.user
	if c.dom != "" {
		name = c.dom + `\` + c.user
	}
	if name == "" {
		name = c.principal
	}
	return &secpkg.Credentials{Handle: f.creds.Add(c), Name: name}, nil
}

func (f *fakeLSA) FreeCredentialsHandle(ctx context.Context, h secpkg.Handle) error {
	if _, ok := f.creds.Delete(h); !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such credentials")
	}
	return nil
}

func (f *fakeLSA) QueryCredentialsAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	c, ok := f.creds.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such credentials")
	}
	return &secpkg.Credentials{Handle: h, Name: c.dom + `\` + c.user}, nil
}

func (f *fakeLSA) LogonUser(ctx context.Context, req *secpkg.LogonRequest) (*secpkg.LogonResult, error) {
	id := req.Identity
	k := fakeVerifier(id.User, id.Password)
	acct, err := f.lsa.CheckLogon(ctx, id.Domain, id.User, func(v []byte) bool {
		real := v != nil
		if !real {
			v = fakeVerifier("dummy", []byte("dummy")) // same work as a real check
		}
		return hmac.Equal(k, v) && real
	})
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "fake: logon failed")
	}
	lid, err := f.lsa.CreateLogonSession(ctx, acct.User, acct.Domain)
	if err != nil {
		return nil, err
	}
	if err := f.lsa.AddCredential(ctx, lid, "K", append(k, []byte(acct.User+"\x00"+acct.Domain)...)); err != nil {
		return nil, err
	}
	return &secpkg.LogonResult{LogonID: lid, User: acct.User, Domain: acct.Domain}, nil
}

// token layout: 'F', index, fields (u16 length + bytes), MAC (32).
func (c *fakeCtx) buildToken(idx int, fields [][]byte, key []byte) []byte {
	b := []byte{'F', byte(idx)}
	for _, fl := range fields {
		b = binary.BigEndian.AppendUint16(b, uint16(len(fl)))
		b = append(b, fl...)
	}
	mac := c.mac(key, b)
	b = append(b, mac...)
	c.transcript = append(c.transcript, b...)
	return b
}

func (c *fakeCtx) mac(key, tok []byte) []byte {
	m := hmac.New(sha256.New, key)
	th := sha256.Sum256(c.transcript)
	m.Write(th[:])
	m.Write(tok)
	return m.Sum(nil)
}

var errFakeToken = secpkg.Errorf(secpkg.StatusInvalidToken, "fake: malformed token")

func parseFakeToken(tok []byte, idx, nfields int) ([][]byte, []byte, []byte, error) {
	if len(tok) < 2+32 || tok[0] != 'F' || int(tok[1]) != idx {
		return nil, nil, nil, errFakeToken
	}
	body, mac := tok[:len(tok)-32], tok[len(tok)-32:]
	rest := body[2:]
	var fields [][]byte
	for i := 0; i < nfields; i++ {
		if len(rest) < 2 {
			return nil, nil, nil, errFakeToken
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			return nil, nil, nil, errFakeToken
		}
		fields = append(fields, rest[2:2+n])
		rest = rest[2+n:]
	}
	if len(rest) != 0 {
		return nil, nil, nil, errFakeToken
	}
	return fields, body, mac, nil
}

func (f *fakeLSA) last(idx int) bool { return idx == f.cfg.tokens-1 }

func (f *fakeLSA) InitLsaModeContext(ctx context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	cred, ok := f.creds.Get(req.Credential)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such credentials")
	}
	var c *fakeCtx
	h := req.Context
	if h == 0 {
		c = &fakeCtx{cred: cred, key: cred.key, user: cred.user, dom: cred.dom, flags: req.Flags.Context() & fakeSupported}
		io.ReadFull(f.lsa.Rand(), c.cnonce[:])
		var fl [4]byte
		binary.BigEndian.PutUint32(fl[:], uint32(c.flags))
		tok := c.buildToken(0, [][]byte{[]byte(c.user), []byte(c.dom), c.cnonce[:], fl[:]}, c.key)
		c.next = 1
		h = f.ctxs.Add(c)
		if f.last(0) {
			return f.finish(ctx, h, c, tok, secpkg.StatusOK)
		}
		return &secpkg.ContextResult{Context: h, Status: secpkg.StatusContinueNeeded, Token: tok, Flags: c.flags}, nil
	}
	if c, ok = f.ctxs.Get(h); !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such context")
	}
	return f.receive(ctx, h, c, req.Token)
}

func (f *fakeLSA) AcceptLsaModeContext(ctx context.Context, req *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	cred, ok := f.creds.Get(req.Credential)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such credentials")
	}
	if req.Context != 0 {
		c, ok := f.ctxs.Get(req.Context)
		if !ok {
			return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such context")
		}
		return f.receive(ctx, req.Context, c, req.Token)
	}
	fields, body, mac, err := parseFakeToken(req.Token, 0, 4)
	if err != nil {
		return nil, err
	}
	if len(fields[2]) != 16 || len(fields[3]) != 4 {
		return nil, errFakeToken
	}
	c := &fakeCtx{server: true, cred: cred, user: string(fields[0]), dom: string(fields[1])}
	copy(c.cnonce[:], fields[2])
	c.flags = secpkg.ContextFlags(binary.BigEndian.Uint32(fields[3])) & fakeSupported
	acct, lerr := f.lsa.CheckLogon(ctx, c.dom, c.user, func(v []byte) bool {
		// The verifier is the key of the rest of the exchange; the LSA
		// wipes its copy after the check.
		c.key = bytes.Clone(v)
		if v == nil {
			c.key = fakeVerifier("dummy", []byte("dummy")) // same work as a real check
		}
		return v != nil && hmac.Equal(c.mac(c.key, body), mac)
	})
	if lerr != nil {
		f.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: c.dom + `\` + c.user, Status: secpkg.StatusLogonDenied})
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "fake: logon failed")
	}
	c.acct = acct
	c.transcript = append(c.transcript, req.Token...)
	c.next = 1
	h := f.ctxs.Add(c)
	if f.last(0) {
		if err := f.lsa.CheckReplay(ctx, c.cnonce[:], f.lsa.Now().Add(1<<40)); err != nil {
			f.ctxs.Delete(h)
			return nil, err
		}
		return f.finish(ctx, h, c, nil, secpkg.StatusOK)
	}
	return f.send(ctx, h, c)
}

// receive consumes the peer's token c.next and answers.
func (f *fakeLSA) receive(ctx context.Context, h secpkg.Handle, c *fakeCtx, tok []byte) (*secpkg.ContextResult, error) {
	if c.done {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: context is complete")
	}
	nf := 0
	if c.next == 1 {
		nf = 1
	}
	fields, body, mac, err := parseFakeToken(tok, c.next, nf)
	if err != nil {
		return nil, err
	}
	key := c.key
	if c.server && f.cfg.completeNeeded && f.last(c.next) {
		c.sk = c.sessionKey()
		key = completeKey(c.sk)
	}
	if !hmac.Equal(c.mac(key, body), mac) {
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "fake: token %d fails its check", c.next)
	}
	if c.next == 1 {
		if len(fields[0]) != 16 {
			return nil, errFakeToken
		}
		copy(c.snonce[:], fields[0])
	}
	c.transcript = append(c.transcript, tok...)
	if f.last(c.next) {
		return f.finish(ctx, h, c, nil, secpkg.StatusOK)
	}
	c.next++
	return f.send(ctx, h, c)
}

// send produces this side's token c.next.
func (f *fakeLSA) send(ctx context.Context, h secpkg.Handle, c *fakeCtx) (*secpkg.ContextResult, error) {
	var fields [][]byte
	if c.next == 1 {
		io.ReadFull(f.lsa.Rand(), c.snonce[:])
		fields = [][]byte{c.snonce[:]}
	}
	idx := c.next
	c.next++
	if f.last(idx) {
		if !c.server && f.cfg.completeNeeded {
			// The user-mode half adds the MAC in CompleteAuthToken.
			b := []byte{'F', byte(idx)}
			c.sk = c.sessionKey()
			res, err := f.finish(ctx, h, c, append(b, make([]byte, 32)...), secpkg.StatusCompleteNeeded)
			return res, err
		}
		tok := c.buildToken(idx, fields, c.key)
		return f.finish(ctx, h, c, tok, secpkg.StatusOK)
	}
	tok := c.buildToken(idx, fields, c.key)
	return &secpkg.ContextResult{Context: h, Status: secpkg.StatusContinueNeeded, Token: tok, Flags: c.flags}, nil
}

func (c *fakeCtx) sessionKey() []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("session"))
	m.Write(c.cnonce[:])
	m.Write(c.snonce[:])
	return m.Sum(nil)
}

func completeKey(sk []byte) []byte {
	m := hmac.New(sha256.New, sk)
	m.Write([]byte("complete"))
	return m.Sum(nil)
}

func (f *fakeLSA) finish(ctx context.Context, h secpkg.Handle, c *fakeCtx, tok []byte, st secpkg.Status) (*secpkg.ContextResult, error) {
	c.done = true
	if c.sk == nil {
		c.sk = c.sessionKey()
	}
	if c.server && c.acct != nil {
		f.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonSuccess, Principal: c.acct.Domain + `\` + c.acct.User})
	}
	res := &secpkg.ContextResult{Context: h, Status: st, Token: tok, Flags: c.flags}
	// The LSA protects the messages of a context the caller cannot map.
	c.session = newFakeSession(c.server, c.flags, c.sk, 0, 0)
	if f.cfg.unmapped {
		return res, nil
	}
	th := sha256.Sum256(c.transcript)
	res.Mapped = true
	res.ContextData = packFake(c.server, c.flags, c.sk, 0, 0, th[:])
	return res, nil
}

func (f *fakeLSA) DeleteContext(ctx context.Context, h secpkg.Handle) error {
	if _, ok := f.ctxs.Delete(h); !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such context")
	}
	return nil
}

func (f *fakeLSA) QueryContextAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.ContextAttributes, error) {
	c, ok := f.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such context")
	}
	a := &secpkg.ContextAttributes{
		UserName: c.dom + `\` + c.user, ClientName: c.dom + `\` + c.user, ServerName: c.cred.principal,
		NegotiatedPackage: f.name,
		Sizes:             secpkg.Sizes{MaxToken: fakeMaxToken, MaxSignature: fakeSigSize, SecurityTrailer: fakeTrailer},
		StreamSizes:       secpkg.StreamSizes{Trailer: fakeTrailer, MaximumMessage: 1 << 20, Buffers: 2},
	}
	if c.server && c.acct != nil {
		a.Identity = &secpkg.Identity{User: c.acct.User, Domain: c.acct.Domain, Package: f.name, Groups: c.acct.Groups, Flags: c.flags.ASC()}
	}
	return a, nil
}

func (f *fakeLSA) Shutdown(ctx context.Context) error { return nil }

// CallPackage answers the user-mode half's callbacks (CallPackager).
func (f *fakeLSA) CallPackage(ctx context.Context, h secpkg.Handle, id uint32, input []byte) ([]byte, error) {
	c, ok := f.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such context")
	}
	return []byte(fmt.Sprintf("%d:%s:%s", id, c.user, input)), nil
}

// ApplyControlToken takes a "reset" token (ControlTokenApplier).
func (f *fakeLSA) ApplyControlToken(ctx context.Context, h secpkg.Handle, input []secpkg.Buffer) error {
	if len(input) != 1 || string(input[0].Data) != "reset" {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "fake: unknown control token")
	}
	return nil
}

func (f *fakeLSA) sessionOf(h secpkg.Handle) (*fakeSession, error) {
	c, ok := f.ctxs.Get(h)
	if !ok || c.session == nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "fake: no such context")
	}
	return c.session, nil
}

// The unmapped path (LSAMessageProtector, SessionKeyQuerier).
func (f *fakeLSA) MakeSignature(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	s, err := f.sessionOf(h)
	if err != nil {
		return err
	}
	return s.MakeSignature(qop, msg, seq)
}

func (f *fakeLSA) VerifySignature(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (uint32, error) {
	s, err := f.sessionOf(h)
	if err != nil {
		return 0, err
	}
	return s.VerifySignature(msg, seq)
}

func (f *fakeLSA) SealMessage(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	s, err := f.sessionOf(h)
	if err != nil {
		return err
	}
	return s.SealMessage(qop, msg, seq)
}

func (f *fakeLSA) UnsealMessage(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (uint32, error) {
	s, err := f.sessionOf(h)
	if err != nil {
		return 0, err
	}
	return s.UnsealMessage(msg, seq)
}

func (f *fakeLSA) QuerySessionKey(ctx context.Context, h secpkg.Handle) ([]byte, error) {
	s, err := f.sessionOf(h)
	if err != nil {
		return nil, err
	}
	return s.SessionKey()
}

// Packed context: version 1, server, flags u32, session key (32), send and
// receive sequence numbers (u64 each), transcript hash (32).
func packFake(server bool, flags secpkg.ContextFlags, sk []byte, send, recv uint64, th []byte) []byte {
	b := []byte{1, 0}
	if server {
		b[1] = 1
	}
	b = binary.BigEndian.AppendUint32(b, uint32(flags))
	b = append(b, sk...)
	b = binary.BigEndian.AppendUint64(b, send)
	b = binary.BigEndian.AppendUint64(b, recv)
	return append(b, th...)
}

type fakeUser struct{ pkg string }

// fakeUserFns and fakeLastHandle let tests use the callback channel the
// provider gave each package's user-mode half.
var (
	fakeUserMu     sync.Mutex
	fakeUserFns    = map[string]secpkg.UserFunctions{}
	fakeLastHandle = map[string]secpkg.UserContextHandle{}
)

func (u *fakeUser) InstanceInit(version uint32, fns secpkg.UserFunctions) error {
	fakeUserMu.Lock()
	fakeUserFns[u.pkg] = fns
	fakeUserMu.Unlock()
	return nil
}

func (u *fakeUser) InitUserModeContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	fakeUserMu.Lock()
	fakeLastHandle[u.pkg] = h
	fakeUserMu.Unlock()
	return unpackFake(packed)
}

func (u *fakeUser) ImportContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	return unpackFake(packed)
}

func unpackFake(b []byte) (*fakeSession, error) {
	if len(b) != 2+4+32+16+32 || b[0] != 1 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "fake: bad packed context")
	}
	s := newFakeSession(b[1] == 1, secpkg.ContextFlags(binary.BigEndian.Uint32(b[2:])), b[6:38],
		binary.BigEndian.Uint64(b[38:]), binary.BigEndian.Uint64(b[46:]))
	s.th = append([]byte(nil), b[54:]...)
	return s, nil
}

// fakeSession is the per-message state, shared by both paths.
type fakeSession struct {
	server           bool
	flags            secpkg.ContextFlags
	sk               []byte
	th               []byte
	sendMAC, recvMAC []byte
	sendEnc, recvEnc cipher.Block
	sendSeq, recvSeq uint64
}

func newFakeSession(server bool, flags secpkg.ContextFlags, sk []byte, send, recv uint64) *fakeSession {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, sk)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	out, in := "c2s", "s2c"
	if server {
		out, in = in, out
	}
	s := &fakeSession{server: server, flags: flags, sk: append([]byte(nil), sk...), sendSeq: send, recvSeq: recv,
		sendMAC: derive("mac-" + out), recvMAC: derive("mac-" + in)}
	s.sendEnc, _ = aes.NewCipher(derive("enc-" + out))
	s.recvEnc, _ = aes.NewCipher(derive("enc-" + in))
	return s
}

func findBuffers(msg []secpkg.Buffer) (tok *secpkg.Buffer, data []*secpkg.Buffer) {
	for i := range msg {
		switch msg[i].Type.Kind() {
		case secpkg.BufferToken:
			if tok == nil {
				tok = &msg[i]
			}
		case secpkg.BufferData:
			data = append(data, &msg[i])
		}
	}
	return tok, data
}

func (s *fakeSession) macOver(key []byte, seq uint64, flag byte, data []*secpkg.Buffer) []byte {
	m := hmac.New(sha256.New, key)
	var hdr [9]byte
	binary.BigEndian.PutUint64(hdr[:], seq)
	hdr[8] = flag
	m.Write(hdr[:])
	for _, d := range data {
		if d.Type&secpkg.BufferReadOnly == 0 || d.Type&secpkg.BufferReadOnlyWithChecksum != 0 {
			m.Write(d.Data)
		}
	}
	return m.Sum(nil)[:16]
}

func (s *fakeSession) ctr(block cipher.Block, seq uint64, data []*secpkg.Buffer) {
	var iv [16]byte
	binary.BigEndian.PutUint64(iv[:], seq)
	st := cipher.NewCTR(block, iv[:])
	for _, d := range data {
		if d.Type&(secpkg.BufferReadOnly|secpkg.BufferReadOnlyWithChecksum) == 0 {
			st.XORKeyStream(d.Data, d.Data)
		}
	}
}

func (s *fakeSession) checkSeq(seq uint64) error {
	if s.flags&(secpkg.FlagSequenceDetect|secpkg.FlagReplayDetect) != 0 && seq != s.recvSeq {
		return secpkg.Errorf(secpkg.StatusOutOfSequence, "fake: message %d, expected %d", seq, s.recvSeq)
	}
	return nil
}

func (s *fakeSession) MakeSignature(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	tok, data := findBuffers(msg)
	if tok == nil || len(tok.Data) < fakeSigSize {
		return secpkg.Errorf(secpkg.StatusBufferTooSmall, "fake: signature needs %d bytes", fakeSigSize)
	}
	binary.BigEndian.PutUint64(tok.Data, s.sendSeq)
	copy(tok.Data[8:], s.macOver(s.sendMAC, s.sendSeq, 0, data))
	tok.Data = tok.Data[:fakeSigSize]
	s.sendSeq++
	return nil
}

func (s *fakeSession) VerifySignature(msg []secpkg.Buffer, _ uint32) (uint32, error) {
	tok, data := findBuffers(msg)
	if tok == nil || len(tok.Data) != fakeSigSize {
		return 0, secpkg.Errorf(secpkg.StatusMessageAltered, "fake: bad signature length")
	}
	seq := binary.BigEndian.Uint64(tok.Data)
	if !hmac.Equal(tok.Data[8:], s.macOver(s.recvMAC, seq, 0, data)) {
		return 0, secpkg.Errorf(secpkg.StatusMessageAltered, "fake: signature mismatch")
	}
	if err := s.checkSeq(seq); err != nil {
		return 0, err
	}
	s.recvSeq++
	return 0, nil
}

func (s *fakeSession) SealMessage(qop uint32, msg []secpkg.Buffer, _ uint32) error {
	if qop != 0 && qop != secpkg.QOPWrapNoEncrypt {
		return secpkg.Errorf(secpkg.StatusQOPNotSupported, "fake: qop %#x", qop)
	}
	tok, data := findBuffers(msg)
	if tok == nil || len(tok.Data) < fakeTrailer {
		return secpkg.Errorf(secpkg.StatusBufferTooSmall, "fake: trailer needs %d bytes", fakeTrailer)
	}
	flag := byte(1)
	if qop == secpkg.QOPWrapNoEncrypt {
		flag = 0
	} else {
		s.ctr(s.sendEnc, s.sendSeq, data)
	}
	binary.BigEndian.PutUint64(tok.Data, s.sendSeq)
	tok.Data[8] = flag
	copy(tok.Data[9:], s.macOver(s.sendMAC, s.sendSeq, flag, data))
	tok.Data = tok.Data[:fakeTrailer]
	s.sendSeq++
	return nil
}

func (s *fakeSession) UnsealMessage(msg []secpkg.Buffer, _ uint32) (uint32, error) {
	tok, data := findBuffers(msg)
	if tok == nil || len(tok.Data) != fakeTrailer {
		return 0, secpkg.Errorf(secpkg.StatusMessageAltered, "fake: bad trailer length")
	}
	seq, flag := binary.BigEndian.Uint64(tok.Data), tok.Data[8]
	if flag > 1 || !hmac.Equal(tok.Data[9:], s.macOver(s.recvMAC, seq, flag, data)) {
		return 0, secpkg.Errorf(secpkg.StatusMessageAltered, "fake: trailer mismatch")
	}
	if err := s.checkSeq(seq); err != nil {
		return 0, err
	}
	s.recvSeq++
	if flag == 0 {
		return secpkg.QOPWrapNoEncrypt, nil
	}
	s.ctr(s.recvEnc, seq, data)
	return 0, nil
}

func (s *fakeSession) Sizes() secpkg.Sizes {
	return secpkg.Sizes{MaxToken: fakeMaxToken, MaxSignature: fakeSigSize, SecurityTrailer: fakeTrailer}
}

func (s *fakeSession) StreamSizes() secpkg.StreamSizes {
	return secpkg.StreamSizes{Trailer: fakeTrailer, MaximumMessage: 1 << 20, Buffers: 2}
}

func (s *fakeSession) SessionKey() ([]byte, error) { return append([]byte(nil), s.sk...), nil }

func (s *fakeSession) ExportContext() ([]byte, error) {
	return packFake(s.server, s.flags, s.sk, s.sendSeq, s.recvSeq, s.th), nil
}

func (s *fakeSession) DeleteUserModeContext() error {
	clear(s.sk)
	clear(s.sendMAC)
	clear(s.recvMAC)
	return nil
}

// CompleteAuthToken adds the MAC to the client's last token under a key
// only the session key gives.
func (s *fakeSession) CompleteAuthToken(msg []secpkg.Buffer) error {
	tok, _ := findBuffers(msg)
	if tok == nil || len(tok.Data) < 2+32 || !bytes.Equal(tok.Data[len(tok.Data)-32:], make([]byte, 32)) {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "fake: nothing to complete")
	}
	body := tok.Data[:len(tok.Data)-32]
	m := hmac.New(sha256.New, completeKey(s.sk))
	m.Write(s.th)
	m.Write(body)
	tok.Data = append(append([]byte(nil), body...), m.Sum(nil)...)
	return nil
}

var (
	_ secpkg.LSAMessageProtector = (*fakeLSA)(nil)
	_ secpkg.SessionKeyQuerier   = (*fakeLSA)(nil)
	_ secpkg.LogonUserer         = (*fakeLSA)(nil)
	_ secpkg.VerifierMaker       = (*fakeLSA)(nil)
	_ secpkg.AuthTokenCompleter  = (*fakeSession)(nil)
	_ secpkg.CallPackager        = (*fakeLSA)(nil)
	_ secpkg.ControlTokenApplier = (*fakeLSA)(nil)
)
