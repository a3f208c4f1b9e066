package opaque

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Native fuzz targets, one per parser. Each checks that nothing panics,
// that whatever parses re-encodes to exactly the input (every message has
// one encoding), and for the protocol steps that any input gives an
// error or a well-formed answer. Seeds live in testdata/fuzz/FuzzXxx/
// (see testdata/fuzz/README.md); OPAQUE_WRITE_SEEDS=1 go test -run
// TestWriteFuzzSeeds rewrites them.

// vectorOutputs returns the named outputs and inputs of the RFC 9807
// ristretto255 vectors.
func vectorValues(tb testing.TB, name string) [][]byte {
	b, err := os.ReadFile("testdata/rfc9807-vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []struct {
		Config  map[string]string `json:"config"`
		Inputs  map[string]string `json:"inputs"`
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, v := range vs {
		if v.Config["Group"] != "ristretto255" {
			continue
		}
		for _, m := range []map[string]string{v.Outputs, v.Inputs} {
			if s, ok := m[name]; ok {
				b, _ := hex.DecodeString(s)
				out = append(out, b)
			}
		}
	}
	return out
}

// fuzzParser is the common body of the message parsers' targets.
func fuzzParser[M interface{ Bytes() []byte }](f *testing.F, vector string, parse func([]byte) (M, error)) {
	for _, b := range vectorValues(f, vector) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error not wrapping ErrInvalidMessage: %v", err)
			}
			return
		}
		if out := m.Bytes(); !bytes.Equal(out, data) {
			t.Fatalf("re-encoding differs from the input")
		}
	})
}

func FuzzParseRegistrationRequest(f *testing.F) {
	fuzzParser(f, "registration_request", ParseRegistrationRequest)
}

func FuzzParseRegistrationResponse(f *testing.F) {
	fuzzParser(f, "registration_response", ParseRegistrationResponse)
}

func FuzzParseRegistrationRecord(f *testing.F) {
	fuzzParser(f, "registration_upload", ParseRegistrationRecord)
}

func FuzzParseKE1(f *testing.F) { fuzzParser(f, "KE1", ParseKE1) }
func FuzzParseKE2(f *testing.F) { fuzzParser(f, "KE2", ParseKE2) }
func FuzzParseKE3(f *testing.F) { fuzzParser(f, "KE3", ParseKE3) }

func FuzzParseServerSetup(f *testing.F) {
	seeds := vectorValues(f, "oprf_seed")
	keys := vectorValues(f, "server_private_key")
	for i := range seeds {
		f.Add(append(append([]byte(nil), seeds[i]...), keys[i]...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseServerSetup(data)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Bytes(), data) {
			t.Fatal("re-encoding differs from the input")
		}
	})
}

func FuzzParseKSF(f *testing.F) {
	f.Add(appendKSF(nil, DefaultKSF()))
	f.Add(appendKSF(nil, RecommendedKSF()))
	f.Add(appendKSF(nil, InsecureIdentityKSF()))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parseKSF(data)
		if err != nil {
			return
		}
		if k.Validate() != nil || !bytes.Equal(appendKSF(nil, k), data) {
			t.Fatal("parsed KSF does not validate or re-encode")
		}
	})
}

// fuzzSetup is a fixed setup and record for the protocol targets.
func fuzzSetup(tb testing.TB) (*ServerSetup, *RegistrationRecord, Config) {
	setup, err := NewServerSetup(bytes.Repeat([]byte{7}, Nh), append(bytes.Repeat([]byte{1}, 31), 0))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{KSF: InsecureIdentityKSF(), Rand: bytes.NewReader(bytes.Repeat([]byte{3}, 1<<12))}
	c := NewClient(&cfg)
	req, err := c.CreateRegistrationRequest([]byte("pw"))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := NewServer(&cfg, setup).CreateRegistrationResponse(req, []byte("c"))
	if err != nil {
		tb.Fatal(err)
	}
	rec, _, err := c.FinalizeRegistrationRequest(resp)
	if err != nil {
		tb.Fatal(err)
	}
	return setup, rec, Config{KSF: InsecureIdentityKSF()}
}

// FuzzServerKE1 feeds arbitrary KE1 bytes to the server with a real and
// with no record: an error, or a KE2 of the one size.
func FuzzServerKE1(f *testing.F) {
	for _, b := range vectorValues(f, "KE1") {
		f.Add(b)
	}
	setup, rec, cfg := fuzzSetup(f)
	srv := NewServer(&cfg, setup)
	f.Fuzz(func(t *testing.T, data []byte) {
		ke1, err := ParseKE1(data)
		if err != nil {
			return
		}
		for _, r := range []*RegistrationRecord{rec, nil} {
			_, ke2, err := srv.GenerateKE2(ke1, r, []byte("c"))
			if err != nil || len(ke2.Bytes()) != KE2Size {
				t.Fatalf("KE2 for a parsed KE1: %v", err)
			}
		}
	})
}

// FuzzClientKE2 feeds arbitrary KE2 bytes to a client that sent KE1: an
// error (never a panic), or a KE3 only if the bytes are the server's.
func FuzzClientKE2(f *testing.F) {
	for _, b := range vectorValues(f, "KE2") {
		f.Add(b)
	}
	cfg := Config{KSF: InsecureIdentityKSF()}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewClient(&cfg)
		ke1, err := c.GenerateKE1([]byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		ke2, err := ParseKE2(data)
		if err != nil {
			return
		}
		if _, _, _, err := c.GenerateKE3(ke2); err == nil {
			t.Fatalf("client accepted a KE2 not made for its KE1 %x", ke1.Bytes()[:8])
		}
	})
}

// TestWriteFuzzSeeds writes the seed corpora of testdata/fuzz from the
// vectors and from edge cases (OPAQUE_WRITE_SEEDS=1).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("OPAQUE_WRITE_SEEDS") == "" {
		t.Skip("set OPAQUE_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	for name, b := range fuzzSeeds(t) {
		dir, file := filepath.Split(name)
		path := filepath.Join("testdata", "fuzz", dir, file)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fuzzSeeds are every corpus file: target/file -> bytes.
func fuzzSeeds(t testing.TB) map[string][]byte {
	m := protocolSeeds(t)
	for k, v := range packageSeeds(t) {
		m[k] = v
	}
	for k, v := range credentialSeeds() {
		m[k] = v
	}
	return m
}

// protocolSeeds are the Part A corpus files: target/file -> bytes.
func protocolSeeds(t testing.TB) map[string][]byte {
	one := func(name string) []byte { return vectorValues(t, name)[0] }
	identity := make([]byte, 32)
	noncanonical := append(bytes.Repeat([]byte{0xff}, 31), 0x7f)
	ke1 := one("KE1")
	badShare := append(append([]byte(nil), ke1[:64]...), identity...)
	ke2 := one("KE2")
	setup := append(append([]byte(nil), one("oprf_seed")...), one("server_private_key")...)
	bigScalar := append(append([]byte(nil), one("oprf_seed")...), bytes.Repeat([]byte{0xff}, 32)...)
	return map[string][]byte{
		"FuzzParseRegistrationRequest/rfc9807-c1.1":         one("registration_request"),
		"FuzzParseRegistrationRequest/identity-element":     identity,
		"FuzzParseRegistrationRequest/non-canonical":        noncanonical,
		"FuzzParseRegistrationResponse/rfc9807-c1.1":        one("registration_response"),
		"FuzzParseRegistrationRecord/rfc9807-c1.1":          one("registration_upload"),
		"FuzzParseRegistrationRecord/fake-zero-envelope":    append(append(one("client_public_key"), one("masking_key")...), make([]byte, EnvelopeSize)...),
		"FuzzParseKE1/rfc9807-c1.1":                         ke1,
		"FuzzParseKE1/identity-keyshare":                    badShare,
		"FuzzParseKE1/one-byte-short":                       ke1[:KE1Size-1],
		"FuzzParseKE2/rfc9807-c1.1":                         ke2,
		"FuzzParseKE2/one-byte-long":                        append(append([]byte(nil), ke2...), 0),
		"FuzzParseKE3/rfc9807-c1.1":                         one("KE3"),
		"FuzzParseServerSetup/rfc9807-c1.1":                 setup,
		"FuzzParseServerSetup/scalar-above-order":           bigScalar,
		"FuzzParseKSF/default-argon2id":                     appendKSF(nil, DefaultKSF()),
		"FuzzParseKSF/identity":                             appendKSF(nil, InsecureIdentityKSF()),
		"FuzzParseKSF/argon2id-m-below-8p":                  appendKSF(nil, Argon2id(7, 1, 1)),
		"FuzzServerKE1/rfc9807-c2.1-fake-vector-ke1":        vectorValues(t, "KE1")[len(vectorValues(t, "KE1"))-1],
		"FuzzClientKE2/rfc9807-c1.1-not-for-this-client":    ke2,
		"FuzzClientKE2/identity-server-keyshare":            append(append([]byte(nil), ke2[:224]...), append(identity, ke2[256:]...)...),
		"FuzzParseRegistrationResponse/identity-server-key": append(append([]byte(nil), one("registration_response")[:32]...), identity...),
	}
}
