package opaque_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/opensspi/sspi/packages/opaque"
)

// rfcVector is one test vector of RFC 9807 Appendix C, as the RFC's
// JSON (testdata/rfc9807-vectors.json) has it: hex strings throughout.
type rfcVector struct {
	Config        map[string]string `json:"config"`
	Inputs        map[string]string `json:"inputs"`
	Intermediates map[string]string `json:"intermediates"`
	Outputs       map[string]string `json:"outputs"`
}

func loadRFCVectors(t testing.TB) []rfcVector {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc9807-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []rfcVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

// ristrettoVectors are the vectors of the configuration this package
// implements: OPRF ristretto255-SHA512 with the 3DH group ristretto255.
// (The curve25519 and P-256 vectors are other configurations.)
func ristrettoVectors(t testing.TB) []rfcVector {
	var out []rfcVector
	for _, v := range loadRFCVectors(t) {
		if v.Config["OPRF"] == "ristretto255-SHA512" && v.Config["Group"] == "ristretto255" {
			out = append(out, v)
		}
	}
	if len(out) != 3 {
		t.Fatalf("found %d ristretto255 vectors, want 3 (2 real, 1 fake)", len(out))
	}
	return out
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// drawReader hands out the vector's random values in the order the
// protocol draws them, and fails the test when a draw asks for a size
// other than the next value's: it checks the order of draws, too.
type drawReader struct {
	t     testing.TB
	draws [][]byte
}

func (r *drawReader) Read(p []byte) (int, error) {
	r.t.Helper()
	if len(r.draws) == 0 {
		r.t.Fatalf("unexpected draw of %d random bytes", len(p))
		return 0, fmt.Errorf("no more draws")
	}
	next := r.draws[0]
	if len(next) != len(p) {
		r.t.Fatalf("draw of %d random bytes, the next value has %d", len(p), len(next))
	}
	r.draws = r.draws[1:]
	return copy(p, next), nil
}

func (r *drawReader) done() {
	r.t.Helper()
	if len(r.draws) != 0 {
		r.t.Errorf("%d random values were not drawn", len(r.draws))
	}
}

func draws(t testing.TB, v rfcVector, names ...string) *drawReader {
	r := &drawReader{t: t}
	for _, n := range names {
		s, ok := v.Inputs[n]
		if !ok {
			t.Fatalf("vector has no %s", n)
		}
		r.draws = append(r.draws, unhex(t, s))
	}
	return r
}

func checkHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Errorf("%s = %x\nwant %s", what, got, want)
	}
}

// TestRFC9807Vectors runs every ristretto255 vector of RFC 9807 Appendix
// C through the exported API with the vector's context and identities
// (absent ones being the public keys).
func TestRFC9807Vectors(t *testing.T) {
	for i, v := range ristrettoVectors(t) {
		name := fmt.Sprintf("%d-fake=%s", i, v.Config["Fake"])
		if _, ok := v.Inputs["client_identity"]; ok {
			name += "-identities"
		} else {
			name += "-default-identities"
		}
		t.Run(name, func(t *testing.T) {
			if v.Config["Fake"] == "True" {
				testFakeVector(t, v)
			} else {
				testRealVector(t, v)
			}
		})
	}
}

func vectorConfig(t testing.TB, v rfcVector) opaque.Config {
	if v.Config["KSF"] != "Identity" {
		t.Fatalf("vector KSF %q", v.Config["KSF"])
	}
	cfg := opaque.Config{Context: unhex(t, v.Config["Context"]), KSF: opaque.InsecureIdentityKSF()}
	if s, ok := v.Inputs["client_identity"]; ok {
		cfg.ClientIdentity = unhex(t, s)
	}
	if s, ok := v.Inputs["server_identity"]; ok {
		cfg.ServerIdentity = unhex(t, s)
	}
	return cfg
}

func vectorSetup(t testing.TB, v rfcVector) *opaque.ServerSetup {
	setup, err := opaque.NewServerSetup(unhex(t, v.Inputs["oprf_seed"]), unhex(t, v.Inputs["server_private_key"]))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(setup.PublicKey()); got != v.Inputs["server_public_key"] {
		t.Fatalf("server public key %s, want %s", got, v.Inputs["server_public_key"])
	}
	return setup
}

func testRealVector(t *testing.T, v rfcVector) {
	cfg := vectorConfig(t, v)
	setup := vectorSetup(t, v)
	password := unhex(t, v.Inputs["password"])
	cid := unhex(t, v.Inputs["credential_identifier"])
	out := v.Outputs

	// Registration (Section 5).
	rng := draws(t, v, "blind_registration", "envelope_nonce")
	ccfg := cfg
	ccfg.Rand = rng
	client := opaque.NewClient(&ccfg)
	req, err := client.CreateRegistrationRequest(password)
	if err != nil {
		t.Fatal(err)
	}
	checkHex(t, "registration_request", req.Bytes(), out["registration_request"])
	server := opaque.NewServer(&cfg, setup)
	resp, err := server.CreateRegistrationResponse(req, cid)
	if err != nil {
		t.Fatal(err)
	}
	checkHex(t, "registration_response", resp.Bytes(), out["registration_response"])
	record, exportKey, err := client.FinalizeRegistrationRequest(resp)
	if err != nil {
		t.Fatal(err)
	}
	rng.done()
	checkHex(t, "registration_upload", record.Bytes(), out["registration_upload"])
	checkHex(t, "export_key (registration)", exportKey, out["export_key"])

	// Login (Section 6).
	rng = draws(t, v, "blind_login", "client_nonce", "client_keyshare_seed")
	ccfg.Rand = rng
	client = opaque.NewClient(&ccfg)
	ke1, err := client.GenerateKE1(password)
	if err != nil {
		t.Fatal(err)
	}
	rng.done()
	checkHex(t, "KE1", ke1.Bytes(), out["KE1"])

	srng := draws(t, v, "masking_nonce", "server_nonce", "server_keyshare_seed")
	scfg := cfg
	scfg.Rand = srng
	login, ke2, err := opaque.NewServer(&scfg, setup).GenerateKE2(ke1, record, cid)
	if err != nil {
		t.Fatal(err)
	}
	srng.done()
	checkHex(t, "KE2", ke2.Bytes(), out["KE2"])

	ke3, sessionKey, exportKey, err := client.GenerateKE3(ke2)
	if err != nil {
		t.Fatal(err)
	}
	checkHex(t, "KE3", ke3.Bytes(), out["KE3"])
	checkHex(t, "session_key (client)", sessionKey, out["session_key"])
	checkHex(t, "export_key (login)", exportKey, out["export_key"])
	serverKey, err := login.ServerFinish(ke3)
	if err != nil {
		t.Fatal(err)
	}
	checkHex(t, "session_key (server)", serverKey, out["session_key"])

	// The vector's messages parse and re-encode to themselves.
	for name, parse := range messageParsers {
		if s, ok := out[name]; ok {
			m, err := parse(unhex(t, s))
			if err != nil {
				t.Errorf("parsing the vector's %s: %v", name, err)
				continue
			}
			checkHex(t, name+" re-encoded", m, s)
		}
	}
}

// messageParsers parse each RFC message named as the vectors name them
// and return its re-encoding.
var messageParsers = map[string]func([]byte) ([]byte, error){
	"registration_request": func(b []byte) ([]byte, error) {
		m, err := opaque.ParseRegistrationRequest(b)
		return bytesOf(m, err)
	},
	"registration_response": func(b []byte) ([]byte, error) {
		m, err := opaque.ParseRegistrationResponse(b)
		return bytesOf(m, err)
	},
	"registration_upload": func(b []byte) ([]byte, error) {
		m, err := opaque.ParseRegistrationRecord(b)
		return bytesOf(m, err)
	},
	"KE1": func(b []byte) ([]byte, error) { m, err := opaque.ParseKE1(b); return bytesOf(m, err) },
	"KE2": func(b []byte) ([]byte, error) { m, err := opaque.ParseKE2(b); return bytesOf(m, err) },
	"KE3": func(b []byte) ([]byte, error) { m, err := opaque.ParseKE3(b); return bytesOf(m, err) },
}

func bytesOf[M interface{ Bytes() []byte }](m M, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return m.Bytes(), nil
}

// testFakeVector: the server answers KE1 with the vector's fake record
// (a random client_public_key and masking_key, an all-zero envelope,
// Section 6.3.2.2), given as an ordinary record.
func testFakeVector(t *testing.T, v rfcVector) {
	cfg := vectorConfig(t, v)
	setup := vectorSetup(t, v)
	cid := unhex(t, v.Inputs["credential_identifier"])
	raw := append(unhex(t, v.Inputs["client_public_key"]), unhex(t, v.Inputs["masking_key"])...)
	raw = append(raw, make([]byte, opaque.EnvelopeSize)...)
	record, err := opaque.ParseRegistrationRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	ke1, err := opaque.ParseKE1(unhex(t, v.Inputs["KE1"]))
	if err != nil {
		t.Fatal(err)
	}
	rng := draws(t, v, "masking_nonce", "server_nonce", "server_keyshare_seed")
	cfg.Rand = rng
	server := opaque.NewServer(&cfg, setup)
	_, ke2, err := server.GenerateKE2(ke1, record, cid)
	if err != nil {
		t.Fatal(err)
	}
	rng.done()
	checkHex(t, "KE2", ke2.Bytes(), v.Outputs["KE2"])

	// The server's own fake record (nil record) gives a KE2 of the same
	// size, and a different one: its fake record is derived from the
	// setup, not the vector's.
	cfg.Rand = draws(t, v, "masking_nonce", "server_nonce", "server_keyshare_seed")
	_, own, err := opaque.NewServer(&cfg, setup).GenerateKE2(ke1, nil, cid)
	if err != nil {
		t.Fatal(err)
	}
	if len(own.Bytes()) != len(ke2.Bytes()) || bytes.Equal(own.Bytes(), ke2.Bytes()) {
		t.Errorf("own fake KE2 of %d bytes equal to the vector's: %v", len(own.Bytes()), bytes.Equal(own.Bytes(), ke2.Bytes()))
	}
}
