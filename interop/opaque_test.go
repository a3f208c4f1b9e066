package interop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/opensspi/sspi/packages/opaque"
)

// The OPAQUE peer is @serenity-kit/opaque 1.1.0, the opaque-ke crate
// (an RFC 9807 implementation in Rust, independent of ours) compiled to
// WebAssembly, driven by interop/peers/opaque/opaque_peer.mjs under
// Debian's nodejs; scripts/setup.sh installs both. It speaks the
// configuration most deployments use, which our exported protocol API
// (package opaque) takes as parameters: ristretto255-SHA512, an empty
// context, the client and server identities optional (absent: the
// public keys), and Argon2id over the OPRF output with a zero 16-byte
// salt and a 64-byte output (RFC 9807 Section 7).
const (
	nodeBin         = "/usr/bin/node"
	opaquePeerDir   = "peers/opaque"
	opaquePeerEntry = "peers/opaque/opaque_peer.mjs"
)

var (
	opaquePeerOnce sync.Once
	opaquePeerErr  error
)

// startOPAQUEPeer runs opaque_peer.mjs, or skips (fails under
// SSPI_INTEROP_REQUIRED=1) when node or the library is missing.
func startOPAQUEPeer(t *testing.T) *opaquePeer {
	t.Helper()
	opaquePeerOnce.Do(func() {
		if _, err := os.Stat(nodeBin); err != nil {
			opaquePeerErr = err
			return
		}
		_, opaquePeerErr = os.Stat(opaquePeerDir + "/node_modules/@serenity-kit/opaque/package.json")
	})
	if opaquePeerErr != nil {
		peerMissing(t, "OPAQUE peer (Debian nodejs and npm, then @serenity-kit/opaque in interop/peers/opaque: scripts/setup.sh)", opaquePeerErr)
	}
	p := &opaquePeer{startCmd(t, "opaque-ke peer", exec.Command(nodeBin, opaquePeerEntry))}
	p.expect("READY")
	return p
}

type opaquePeer struct{ *peer }

// call runs op with params on the peer and decodes its result into out;
// a FAIL line is returned as an error.
func (p *opaquePeer) call(op string, params, out any) error {
	p.t.Helper()
	req, err := json.Marshal(map[string]any{"op": op, "params": params})
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(req, '\n')); err != nil {
		p.t.Fatalf("%s: write: %v\n%s", p.name, err, p.stderr)
	}
	kind, f := p.recv()
	switch kind {
	case "RESULT":
		if err := json.Unmarshal([]byte(f[0]), out); err != nil {
			p.t.Fatalf("%s: %s: %v", p.name, op, err)
		}
		return nil
	case "FAIL":
		return fmt.Errorf("%s: %s", op, strings.Join(f, " "))
	}
	p.t.Fatalf("%s: %s answered %s", p.name, op, kind)
	return nil
}

// must is call that fails the test on a FAIL.
func (p *opaquePeer) must(op string, params, out any) {
	p.t.Helper()
	if err := p.call(op, params, out); err != nil {
		p.t.Fatal(err)
	}
}

var b64url = base64.RawURLEncoding

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := b64url.DecodeString(s)
	if err != nil {
		t.Fatalf("peer's base64 %q: %v", s, err)
	}
	return b
}

// opaqueCase is one configuration both implementations are given.
type opaqueCase struct {
	name string
	ksf  opaque.KSF
	// keyStretching is the peer's name for ksf.
	keyStretching any
	clientID      string // "" = absent: the client's public key
	serverID      string
}

func (c opaqueCase) config() *opaque.Config {
	return &opaque.Config{KSF: c.ksf, ClientIdentity: []byte(c.clientID), ServerIdentity: []byte(c.serverID)}
}

// peerParams are the peer's identifiers and key stretching for c, added
// to params.
func (c opaqueCase) peerParams(params map[string]any, client bool) map[string]any {
	ids := map[string]string{}
	if c.clientID != "" {
		ids["client"] = c.clientID
	}
	if c.serverID != "" {
		ids["server"] = c.serverID
	}
	if len(ids) > 0 {
		params["identifiers"] = ids
	}
	if client {
		params["keyStretching"] = c.keyStretching
	}
	return params
}

func opaqueCases(t *testing.T) []opaqueCase {
	small := opaque.Argon2id(1024, 1, 1)
	smallPeer := map[string]any{"argon2id-custom": map[string]int{"memory": 1024, "iterations": 1, "parallelism": 1}}
	cases := []opaqueCase{
		{name: "Argon2id-m1MiB-t1-p1/default-identities", ksf: small, keyStretching: smallPeer},
		{name: "Argon2id-m1MiB-t1-p1/identities", ksf: small, keyStretching: smallPeer, clientID: "alice@example.com", serverID: "server.example.com"},
		{name: "Argon2id-m1MiB-t1-p1/client-identity-only", ksf: small, keyStretching: smallPeer, clientID: "alice"},
	}
	if !testing.Short() {
		// The default KSF of both: RFC 9106's second recommended option,
		// the peer's "memory-constrained".
		cases = append(cases, opaqueCase{name: "Argon2id-m64MiB-t3-p4/default-identities", ksf: opaque.DefaultKSF(), keyStretching: "memory-constrained"})
	}
	return cases
}

type peerRegStart struct {
	State   string `json:"clientRegistrationState"`
	Request string `json:"registrationRequest"`
}
type peerRegResponse struct {
	Response string `json:"registrationResponse"`
}
type peerRegFinish struct {
	Record          string `json:"registrationRecord"`
	ExportKey       string `json:"exportKey"`
	ServerPublicKey string `json:"serverStaticPublicKey"`
}
type peerLoginStart struct {
	State string `json:"clientLoginState"`
	KE1   string `json:"startLoginRequest"`
}
type peerServerLoginStart struct {
	State string `json:"serverLoginState"`
	KE2   string `json:"loginResponse"`
}
type peerLoginFinish struct {
	KE3             string `json:"finishLoginRequest"`
	SessionKey      string `json:"sessionKey"`
	ExportKey       string `json:"exportKey"`
	ServerPublicKey string `json:"serverStaticPublicKey"`
}
type peerServerLoginFinish struct {
	SessionKey string `json:"sessionKey"`
}

const (
	opaquePassword = "correct horse battery staple"
	opaqueUser     = "alice"
)

// TestOPAQUEPeerClient: the peer is the client, our Server the server:
// registration, then a login with equal session and export keys; a wrong
// password fails on the peer's side at KE2.
func TestOPAQUEPeerClient(t *testing.T) {
	p := startOPAQUEPeer(t)
	for _, c := range opaqueCases(t) {
		t.Run(c.name, func(t *testing.T) {
			setup, err := opaque.GenerateServerSetup(nil)
			if err != nil {
				t.Fatal(err)
			}
			srv := opaque.NewServer(c.config(), setup)
			cid := []byte(opaqueUser)

			var rs peerRegStart
			p.must("client.startRegistration", map[string]any{"password": opaquePassword}, &rs)
			req, err := opaque.ParseRegistrationRequest(unb64(t, rs.Request))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.CreateRegistrationResponse(req, cid)
			if err != nil {
				t.Fatal(err)
			}
			var rf peerRegFinish
			p.must("client.finishRegistration", c.peerParams(map[string]any{"password": opaquePassword, "registrationResponse": b64url.EncodeToString(resp.Bytes()), "clientRegistrationState": rs.State}, true), &rf)
			if !bytes.Equal(unb64(t, rf.ServerPublicKey), setup.PublicKey()) {
				t.Fatal("the peer saw another server public key")
			}
			record, err := opaque.ParseRegistrationRecord(unb64(t, rf.Record))
			if err != nil {
				t.Fatal(err)
			}

			login := func(password string) (*peerLoginFinish, *opaque.ServerLogin, error) {
				var ls peerLoginStart
				p.must("client.startLogin", map[string]any{"password": password}, &ls)
				ke1, err := opaque.ParseKE1(unb64(t, ls.KE1))
				if err != nil {
					t.Fatal(err)
				}
				sl, ke2, err := srv.GenerateKE2(ke1, record, cid)
				if err != nil {
					t.Fatal(err)
				}
				var lf peerLoginFinish
				err = p.call("client.finishLogin", c.peerParams(map[string]any{"clientLoginState": ls.State, "loginResponse": b64url.EncodeToString(ke2.Bytes()), "password": password}, true), &lf)
				return &lf, sl, err
			}
			lf, sl, err := login(opaquePassword)
			if err != nil {
				t.Fatal(err)
			}
			ke3, err := opaque.ParseKE3(unb64(t, lf.KE3))
			if err != nil {
				t.Fatal(err)
			}
			key, err := sl.ServerFinish(ke3)
			if err != nil {
				t.Fatalf("ServerFinish of the peer's KE3: %v", err)
			}
			if !bytes.Equal(key, unb64(t, lf.SessionKey)) {
				t.Fatal("session keys differ")
			}
			if !bytes.Equal(unb64(t, lf.ExportKey), unb64(t, rf.ExportKey)) {
				t.Fatal("the peer's export keys of registration and login differ")
			}
			if _, _, err := login("wrong " + opaquePassword); err == nil {
				t.Fatal("the peer logged in with a wrong password")
			}
		})
	}
}

// TestOPAQUEPeerServer: our Client against the peer's server, with the
// peer's server setup; a wrong password, other identities or another KSF
// fail on our side at KE2 (ErrEnvelopeRecovery, SEC_E_LOGON_DENIED in
// the SSPI package) and no KE3 is made.
func TestOPAQUEPeerServer(t *testing.T) {
	p := startOPAQUEPeer(t)
	for _, c := range opaqueCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var setup string
			p.must("server.createSetup", nil, &setup)
			cfg := c.config()
			client := opaque.NewClient(cfg)
			req, err := client.CreateRegistrationRequest([]byte(opaquePassword))
			if err != nil {
				t.Fatal(err)
			}
			var rr peerRegResponse
			p.must("server.createRegistrationResponse", map[string]any{"serverSetup": setup, "userIdentifier": opaqueUser, "registrationRequest": b64url.EncodeToString(req.Bytes())}, &rr)
			resp, err := opaque.ParseRegistrationResponse(unb64(t, rr.Response))
			if err != nil {
				t.Fatal(err)
			}
			record, regExport, err := client.FinalizeRegistrationRequest(resp)
			if err != nil {
				t.Fatal(err)
			}

			login := func(cfg *opaque.Config, password string) (ke3 *opaque.KE3, key, export []byte, st peerServerLoginStart, err error) {
				client := opaque.NewClient(cfg)
				ke1, err := client.GenerateKE1([]byte(password))
				if err != nil {
					t.Fatal(err)
				}
				p.must("server.startLogin", c.peerParams(map[string]any{"serverSetup": setup, "registrationRecord": b64url.EncodeToString(record.Bytes()), "startLoginRequest": b64url.EncodeToString(ke1.Bytes()), "userIdentifier": opaqueUser}, false), &st)
				ke2, err := opaque.ParseKE2(unb64(t, st.KE2))
				if err != nil {
					t.Fatal(err)
				}
				ke3, key, export, err = client.GenerateKE3(ke2)
				return ke3, key, export, st, err
			}
			ke3, key, export, st, err := login(cfg, opaquePassword)
			if err != nil {
				t.Fatalf("GenerateKE3 of the peer's KE2: %v", err)
			}
			var sf peerServerLoginFinish
			p.must("server.finishLogin", c.peerParams(map[string]any{"serverLoginState": st.State, "finishLoginRequest": b64url.EncodeToString(ke3.Bytes())}, false), &sf)
			if !bytes.Equal(key, unb64(t, sf.SessionKey)) {
				t.Fatal("session keys differ")
			}
			if !bytes.Equal(export, regExport) {
				t.Fatal("export keys of registration and login differ")
			}

			other := *cfg
			other.ClientIdentity = []byte("mallory")
			otherKSF := *cfg
			otherKSF.KSF = opaque.Argon2id(1024, 2, 1)
			for name, bad := range map[string]struct {
				cfg      *opaque.Config
				password string
			}{
				"wrong password":  {cfg, "wrong " + opaquePassword},
				"client identity": {&other, opaquePassword},
				"KSF":             {&otherKSF, opaquePassword},
			} {
				ke3, key, _, _, err := login(bad.cfg, bad.password)
				if !errors.Is(err, opaque.ErrEnvelopeRecovery) || ke3 != nil || key != nil {
					t.Errorf("%s: %v, want %v and no KE3", name, err, opaque.ErrEnvelopeRecovery)
				}
			}
		})
	}
}

// TestOPAQUEPeerServerSetup: the server's long-term setup moves between
// the implementations in the RFC's layout (oprf_seed || server private
// key; the peer appends a public key of its own for unknown clients):
// records the peer's server made are served by our Server on the
// imported setup, and ours by the peer on our exported one.
func TestOPAQUEPeerServerSetup(t *testing.T) {
	p := startOPAQUEPeer(t)
	c := opaqueCases(t)[1]
	cfg := c.config()
	cid := []byte(opaqueUser)

	// The peer's setup into ours.
	var peerSetup, peerPublic string
	p.must("server.createSetup", nil, &peerSetup)
	p.must("server.getPublicKey", map[string]any{"setup": peerSetup}, &peerPublic)
	raw := unb64(t, peerSetup)
	if len(raw) != opaque.ServerSetupSize+32 {
		t.Fatalf("the peer's setup has %d bytes", len(raw))
	}
	imported, err := opaque.ParseServerSetup(raw[:opaque.ServerSetupSize])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(imported.PublicKey(), unb64(t, peerPublic)) {
		t.Fatal("the imported setup has another public key")
	}
	var rs peerRegStart
	p.must("client.startRegistration", map[string]any{"password": opaquePassword}, &rs)
	var rr peerRegResponse
	p.must("server.createRegistrationResponse", map[string]any{"serverSetup": peerSetup, "userIdentifier": opaqueUser, "registrationRequest": rs.Request}, &rr)
	var rf peerRegFinish
	p.must("client.finishRegistration", c.peerParams(map[string]any{"password": opaquePassword, "registrationResponse": rr.Response, "clientRegistrationState": rs.State}, true), &rf)
	record, err := opaque.ParseRegistrationRecord(unb64(t, rf.Record))
	if err != nil {
		t.Fatal(err)
	}
	client := opaque.NewClient(cfg)
	ke1, err := client.GenerateKE1([]byte(opaquePassword))
	if err != nil {
		t.Fatal(err)
	}
	sl, ke2, err := opaque.NewServer(cfg, imported).GenerateKE2(ke1, record, cid)
	if err != nil {
		t.Fatal(err)
	}
	ke3, key, _, err := client.GenerateKE3(ke2)
	if err != nil {
		t.Fatalf("our client with the peer's record on the imported setup: %v", err)
	}
	if skey, err := sl.ServerFinish(ke3); err != nil || !bytes.Equal(skey, key) {
		t.Fatalf("ServerFinish: %v", err)
	}

	// Ours into the peer's: seed || private key, then a public key for
	// the peer's unknown-client answers.
	setup, err := opaque.GenerateServerSetup(nil)
	if err != nil {
		t.Fatal(err)
	}
	exported := b64url.EncodeToString(append(setup.Bytes(), setup.PublicKey()...))
	var exportedPublic string
	p.must("server.getPublicKey", map[string]any{"setup": exported}, &exportedPublic)
	if !bytes.Equal(unb64(t, exportedPublic), setup.PublicKey()) {
		t.Fatal("the peer sees another public key in our setup")
	}
	client = opaque.NewClient(cfg)
	req, err := client.CreateRegistrationRequest([]byte(opaquePassword))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := opaque.NewServer(cfg, setup).CreateRegistrationResponse(req, cid)
	if err != nil {
		t.Fatal(err)
	}
	ours, _, err := client.FinalizeRegistrationRequest(resp)
	if err != nil {
		t.Fatal(err)
	}
	var ls peerLoginStart
	p.must("client.startLogin", map[string]any{"password": opaquePassword}, &ls)
	var st peerServerLoginStart
	p.must("server.startLogin", c.peerParams(map[string]any{"serverSetup": exported, "registrationRecord": b64url.EncodeToString(ours.Bytes()), "startLoginRequest": ls.KE1, "userIdentifier": opaqueUser}, false), &st)
	var lf peerLoginFinish
	p.must("client.finishLogin", c.peerParams(map[string]any{"clientLoginState": ls.State, "loginResponse": st.KE2, "password": opaquePassword}, true), &lf)
	var sf peerServerLoginFinish
	p.must("server.finishLogin", c.peerParams(map[string]any{"serverLoginState": st.State, "finishLoginRequest": lf.KE3}, false), &sf)
	if sf.SessionKey != lf.SessionKey {
		t.Fatal("session keys differ")
	}
}
