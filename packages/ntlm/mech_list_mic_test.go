package ntlm

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// ntlmMechList is the DER MechTypeList { NTLMSSP } (RFC 4178 4.1), what a
// SPNEGO initiator offering NTLM alone sends.
var ntlmMechList = []byte{0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}

var _ secpkg.MechListMICer = (*lsaPackage)(nil)

// mechListMICs runs the mechListMIC exchange of RFC 4178 on an
// established pair, in its order: the initiator's MIC, which the acceptor
// verifies, then the acceptor's, which the initiator verifies. It returns
// each side's packed context after the exchange.
func mechListMICs(t *testing.T, e *env, r *hsResult) (cliData, srvData []byte) {
	t.Helper()
	ctx := context.Background()
	mic, cliData, err := e.cli.MakeMechListMIC(ctx, r.cliCtx, ntlmMechList)
	if err != nil {
		t.Fatal(err)
	}
	if srvData, err = e.srv.VerifyMechListMIC(ctx, r.srvCtx, ntlmMechList, mic); err != nil {
		t.Fatalf("acceptor refused the initiator's mechListMIC: %v", err)
	}
	mic, srvData, err = e.srv.MakeMechListMIC(ctx, r.srvCtx, ntlmMechList)
	if err != nil {
		t.Fatal(err)
	}
	if cliData, err = e.cli.VerifyMechListMIC(ctx, r.cliCtx, ntlmMechList, mic); err != nil {
		t.Fatalf("initiator refused the acceptor's mechListMIC: %v", err)
	}
	return cliData, srvData
}

// Offsets in a packed context (packed.go).
const (
	packedSendSeq = 112
	packedRecvSeq = 120
	packedRC4     = 128 // both RC4 states, 2 × rc4StateSize
)

// TestMechListMIC: a mechListMIC made by one side verifies on the other,
// both ways. Afterwards each direction's sequence number is 1 and its RC4
// state is what it was before the MIC (MS-SPNG 3.3.5.1), as gss-ntlmssp
// leaves it, so the mapped contexts' first messages interoperate.
func TestMechListMIC(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{})
	wantStatus(t, r.err(), secpkg.StatusOK)
	before := [][]byte{r.cliRes.ContextData, r.srvRes.ContextData}
	cliData, srvData := mechListMICs(t, e, r)
	for i, after := range [][]byte{cliData, srvData} {
		if s, rs := binary.LittleEndian.Uint64(after[packedSendSeq:]), binary.LittleEndian.Uint64(after[packedRecvSeq:]); s != 1 || rs != 1 {
			t.Fatalf("side %d: sequence numbers %d/%d after the mechListMIC, want 1/1", i, s, rs)
		}
		if !bytes.Equal(after[packedRC4:packedRC4+2*rc4StateSize], before[i][packedRC4:packedRC4+2*rc4StateSize]) {
			t.Fatalf("side %d: RC4 state changed by the mechListMIC", i)
		}
	}
	cli, err := e.user.InitUserModeContext(secpkg.UserContextHandle(r.cliCtx), cliData)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := e.user.InitUserModeContext(secpkg.UserContextHandle(r.srvCtx), srvData)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		sealRoundTrip(t, cli, srv, "first message after the mechListMIC")
		sealRoundTrip(t, srv, cli, "and its answer")
		signRoundTrip(t, cli, srv, "signed")
		signRoundTrip(t, srv, cli, "signed back")
	}
	// The LSA's own copy moved on too: the slow path agrees.
	buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: []byte("slow path")}}
	if err := e.cli.SealMessage(context.Background(), r.cliCtx, 0, buf, 0); err != nil {
		t.Fatal(err)
	}
	if seq := binary.LittleEndian.Uint32(buf[0].Data[12:]); seq != 1 {
		t.Fatalf("LSA copy sealed with SeqNum %d, want 1", seq)
	}
}

// TestMechListMICRefused: every byte of a mechListMIC flipped, a
// different mechList, a truncated MIC and the MIC of the wrong direction
// are SEC_E_MESSAGE_ALTERED and leave the context as it was, so the
// genuine MIC then verifies.
func TestMechListMICRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{})
	wantStatus(t, r.err(), secpkg.StatusOK)
	mic, _, err := e.cli.MakeMechListMIC(ctx, r.cliCtx, ntlmMechList)
	if err != nil {
		t.Fatal(err)
	}
	if len(mic) != signatureSize {
		t.Fatalf("mechListMIC of %d bytes", len(mic))
	}
	for i := range mic {
		bad := bytes.Clone(mic)
		bad[i] ^= 0x01
		_, err := e.srv.VerifyMechListMIC(ctx, r.srvCtx, ntlmMechList, bad)
		wantStatus(t, err, secpkg.StatusMessageAltered)
	}
	other := bytes.Clone(ntlmMechList)
	other[len(other)-1] ^= 0x01
	for _, c := range []struct {
		list, mic []byte
	}{{other, mic}, {ntlmMechList, mic[:15]}, {ntlmMechList, nil}} {
		_, err := e.srv.VerifyMechListMIC(ctx, r.srvCtx, c.list, c.mic)
		wantStatus(t, err, secpkg.StatusMessageAltered)
	}
	// The acceptor's own MIC is of the other direction.
	own, _, err := e.srv.MakeMechListMIC(ctx, r.srvCtx, ntlmMechList)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.srv.VerifyMechListMIC(ctx, r.srvCtx, ntlmMechList, own)
	wantStatus(t, err, secpkg.StatusMessageAltered)
	if _, err := e.srv.VerifyMechListMIC(ctx, r.srvCtx, ntlmMechList, mic); err != nil {
		t.Fatalf("genuine mechListMIC after the refused ones: %v", err)
	}
	// Replayed: the receiving sequence number has moved on.
	_, err = e.srv.VerifyMechListMIC(ctx, r.srvCtx, ntlmMechList, mic)
	wantStatus(t, err, secpkg.StatusMessageAltered)
}

// TestMechListMICUnavailable: no MIC without integrity (RFC 4178 5: then
// none is sent), nor on a mapped, unknown or unfinished context.
func TestMechListMICUnavailable(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{isc: authOnly})
	wantStatus(t, r.err(), secpkg.StatusOK)
	_, _, err := e.cli.MakeMechListMIC(ctx, r.cliCtx, ntlmMechList)
	wantStatus(t, err, secpkg.StatusUnsupportedFunction)
	_, err = e.srv.VerifyMechListMIC(ctx, r.srvCtx, ntlmMechList, make([]byte, 16))
	wantStatus(t, err, secpkg.StatusUnsupportedFunction)

	r = e.handshake(hsOpts{})
	wantStatus(t, r.err(), secpkg.StatusOK)
	e.cli.ContextMapped(ctx, r.cliCtx)
	_, _, err = e.cli.MakeMechListMIC(ctx, r.cliCtx, ntlmMechList)
	wantStatus(t, err, secpkg.StatusUnsupportedFunction)
	_, _, err = e.cli.MakeMechListMIC(ctx, 12345, ntlmMechList)
	wantStatus(t, err, secpkg.StatusInvalidHandle)

	_, _, err = e.srv.MakeMechListMIC(ctx, r.srvCtx, make([]byte, maxMessageSize+1))
	wantStatus(t, err, secpkg.StatusInvalidToken)

	r = e.handshake(hsOpts{editAuth: func([]byte) []byte { return nil }})
	_, err = e.srv.VerifyMechListMIC(ctx, r.srvCtx, ntlmMechList, make([]byte, 16))
	wantStatus(t, err, secpkg.StatusInvalidToken) // the sticky error of the failed leg
}
