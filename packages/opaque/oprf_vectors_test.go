package opaque

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/cloudflare/circl/oprf"
)

// TestRFC9497Vectors checks the OPRF as this package drives it against
// the RFC 9497 Appendix A vectors of ristretto255-SHA512 in modeOPRF, the
// only mode OPAQUE uses (RFC 9807 Section 2.1): DeriveKeyPair, the blind
// taken from the randomness source the way the protocol takes it, Blind,
// BlindEvaluate and Finalize.
func TestRFC9497Vectors(t *testing.T) {
	b, err := os.ReadFile("testdata/rfc9497-oprf-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var suites []struct {
		Identifier string `json:"identifier"`
		Mode       int    `json:"mode"`
		Seed       string `json:"seed"`
		KeyInfo    string `json:"keyInfo"`
		SkSm       string `json:"skSm"`
		Vectors    []struct {
			Batch             int
			Blind             string
			BlindedElement    string
			EvaluationElement string
			Input             string
			Output            string
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &suites); err != nil {
		t.Fatal(err)
	}
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	n := 0
	for _, s := range suites {
		if s.Identifier != "ristretto255-SHA512" || s.Mode != int(oprf.BaseMode) {
			continue
		}
		key, err := oprf.DeriveKey(suite, oprf.BaseMode, h(s.Seed), h(s.KeyInfo))
		if err != nil {
			t.Fatal(err)
		}
		if kb, _ := key.MarshalBinary(); !bytes.Equal(kb, h(s.SkSm)) {
			t.Fatalf("DeriveKeyPair = %x, want %s", kb, s.SkSm)
		}
		for _, v := range s.Vectors {
			if v.Batch != 1 {
				t.Fatalf("batch of %d in modeOPRF", v.Batch)
			}
			n++
			c := &Client{cfg: Config{Rand: bytes.NewReader(h(v.Blind))}}
			bm, err := c.blindPassword(h(v.Input))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(bm) != v.BlindedElement {
				t.Errorf("BlindedElement = %x, want %s", bm, v.BlindedElement)
			}
			blinded, err := deserializeElement(bm)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := oprf.NewServer(suite, key).Evaluate(&oprf.EvaluationRequest{Elements: []oprf.Blinded{blinded}})
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(serializeElement(ev.Elements[0])); got != v.EvaluationElement {
				t.Errorf("EvaluationElement = %s, want %s", got, v.EvaluationElement)
			}
			out, err := c.randomizedPassword(ev.Elements[0], func(b []byte) ([]byte, error) {
				if hex.EncodeToString(b) != v.Output {
					t.Errorf("Output = %x, want %s", b, v.Output)
				}
				return nil, nil
			})
			if err != nil || len(out) != Nx {
				t.Fatalf("finalize: %v", err)
			}
		}
	}
	if n != 2 {
		t.Fatalf("ran %d vectors, want 2", n)
	}
}
