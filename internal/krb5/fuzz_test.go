package krb5

// Fuzz targets, one per parser. Every input must give a result or an
// error, never a panic; whatever parses must re-encode to a fixed point;
// the captured keys (testdata/captured.json) let the real messages of the
// seed corpora decrypt, so that the code after decryption is reached.
// testdata/fuzz/README.md describes the seeds.

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// fixedPoint checks that re-encoding what parsed is stable: marshal ∘
// unmarshal is the identity on its own output.
func fixedPoint(t *testing.T, out []byte, reparse func([]byte) ([]byte, error)) {
	t.Helper()
	again, err := reparse(out)
	if err != nil {
		t.Fatalf("re-encoded message does not parse: %v\n%x", err, out)
	}
	if !bytes.Equal(again, out) {
		t.Fatalf("re-encoding is not stable:\n%x\n%x", out, again)
	}
}

func FuzzAPReq(f *testing.F) {
	c := loadCaptured(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The acceptor, with the captured keytab and clock: the seeds pass.
		_, _ = c.acceptor(t).VerifyAPReq(context.Background(), data)
		var m apReq
		if m.unmarshal(data) != nil {
			return
		}
		fixedPoint(t, m.marshal(), func(b []byte) ([]byte, error) {
			var m2 apReq
			err := m2.unmarshal(b)
			return m2.marshal(), err
		})
	})
}

func FuzzAPRep(f *testing.F) {
	c := loadCaptured(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &APReq{SessionKey: c.key(t, "our-ap-req"), CTime: time.Unix(c.CTime, 0).UTC(), Cusec: c.Cusec}
		_, _ = req.VerifyAPRep(data)
		var m apRep
		if m.unmarshal(data) != nil {
			return
		}
		fixedPoint(t, m.marshal(), func(b []byte) ([]byte, error) {
			var m2 apRep
			err := m2.unmarshal(b)
			return m2.marshal(), err
		})
	})
}

func FuzzKRBCred(f *testing.F) {
	c := loadCaptured(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseKRBCred(data, c.key(t, "mit-ap-req-deleg-cb"))
		var m krbCred
		if m.unmarshal(data) != nil {
			return
		}
		fixedPoint(t, m.marshal(), func(b []byte) ([]byte, error) {
			var m2 krbCred
			err := m2.unmarshal(b)
			return m2.marshal(), err
		})
	})
}

func FuzzKRBError(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseKRBError(data)
		var m krbError
		if m.unmarshal(data) != nil {
			return
		}
		fixedPoint(t, m.marshal(), func(b []byte) ([]byte, error) {
			var m2 krbError
			err := m2.unmarshal(b)
			return m2.marshal(), err
		})
	})
}

func FuzzKDCRep(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mt := range []int{msgASRep, msgTGSRep} {
			var m kdcRep
			if m.unmarshal(data, mt) != nil {
				continue
			}
			fixedPoint(t, m.marshal(), func(b []byte) ([]byte, error) {
				var m2 kdcRep
				err := m2.unmarshal(b, mt)
				return m2.marshal(), err
			})
		}
		_ = isResponseTooBig(data)
	})
}

func FuzzTicket(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := parseTicket(data)
		if err != nil {
			return
		}
		if !bytes.Equal(tk.Raw, data) {
			t.Fatal("Raw is not the input")
		}
		fixedPoint(t, tk.marshal(), func(b []byte) ([]byte, error) {
			tk2, err := parseTicket(b)
			return tk2.marshal(), err
		})
	})
}

// FuzzEncParts feeds the plaintext parsers, which ciphertext mutations
// never reach.
func FuzzEncParts(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var a authenticator
		if a.unmarshal(data) == nil {
			fixedPoint(t, a.marshal(), func(b []byte) ([]byte, error) {
				var a2 authenticator
				err := a2.unmarshal(b)
				return a2.marshal(), err
			})
			if a.Cksum != nil && a.Cksum.Type == ChecksumGSS {
				_, _ = parseGSSChecksum(a.Cksum.Sum)
			}
			_, _ = announcedBindings(a.AuthData)
		}
		var e encTicketPart
		if e.unmarshal(data) == nil {
			fixedPoint(t, e.marshal(), func(b []byte) ([]byte, error) {
				var e2 encTicketPart
				err := e2.unmarshal(b)
				return e2.marshal(), err
			})
			_, _ = findPAC(e.AuthData)
		}
		var k encKDCRepPart
		if k.unmarshal(data) == nil {
			fixedPoint(t, k.marshal(), func(b []byte) ([]byte, error) {
				var k2 encKDCRepPart
				err := k2.unmarshal(b)
				return k2.marshal(), err
			})
		}
		var r encAPRepPart
		if r.unmarshal(data) == nil {
			fixedPoint(t, r.marshal(), func(b []byte) ([]byte, error) {
				var r2 encAPRepPart
				err := r2.unmarshal(b)
				return r2.marshal(), err
			})
		}
		var c encKrbCredPart
		if c.unmarshal(data) == nil {
			fixedPoint(t, c.marshal(), func(b []byte) ([]byte, error) {
				var c2 encKrbCredPart
				err := c2.unmarshal(b)
				return c2.marshal(), err
			})
		}
	})
}

func FuzzMethodData(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := parseMethodData(data)
		if err != nil {
			return
		}
		fixedPoint(t, marshalMethodData(md), func(b []byte) ([]byte, error) {
			md2, err := parseMethodData(b)
			return marshalMethodData(md2), err
		})
		for _, pa := range md {
			if pa.Type == paETypeInfo2 {
				if l, err := parseETypeInfo2(pa.Data); err == nil {
					fixedPoint(t, marshalETypeInfo2(l), func(b []byte) ([]byte, error) {
						l2, err := parseETypeInfo2(b)
						return marshalETypeInfo2(l2), err
					})
				}
			}
		}
	})
}

func FuzzGSSChecksum(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseGSSChecksum(data)
		if err != nil {
			return
		}
		fixedPoint(t, c.marshal(), func(b []byte) ([]byte, error) {
			c2, err := parseGSSChecksum(b)
			if err != nil {
				return nil, err
			}
			return c2.marshal(), nil
		})
	})
}

func FuzzPAC(f *testing.F) {
	c := loadCaptured(f)
	kt := c.keytab(f)
	sp, _ := (&Config{DefaultRealm: "OPENSSPI.TEST"}).ServicePrincipal(c.Service)
	kte, err := kt.Key(sp, 0, AES256SHA1)
	if err != nil {
		f.Fatal(err)
	}
	k := testPACKey(f)
	for _, p := range testPACs(f, k) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParsePAC(data, kte.Key)
		_, _ = ParsePAC(data, k)
		_, _ = parseLogonInfo(data)
	})
}

func FuzzKeytab(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		kt, err := ParseKeytab(data)
		if err != nil {
			return
		}
		again, err := ParseKeytab(kt.Marshal())
		if err != nil || len(again.entries) != len(kt.entries) {
			t.Fatalf("re-encoded keytab: %v", err)
		}
		for i, e := range kt.entries {
			g := again.entries[i]
			if !g.Principal.Equal(e.Principal) || !g.Key.Equal(e.Key) || !g.matches(e.KVNO) {
				t.Fatalf("entry %d: %v became %v", i, e, g)
			}
		}
	})
}

func FuzzCCache(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCCache(data)
		if err != nil {
			return
		}
		again, err := ParseCCache(c.Marshal())
		if err != nil || len(again.Credentials) != len(c.Credentials) || !again.Principal.Equal(c.Principal) {
			t.Fatalf("re-encoded ccache: %v", err)
		}
	})
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte(testKrb5Conf))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		c.RealmOfHost("a.b.example.com")
		_, _ = c.ServicePrincipal("host@a.example.com")
	})
}

func FuzzPrincipal(f *testing.F) {
	for _, s := range []string{"alice@EXAMPLE.COM", `a\/b/c\@d@R/E`, "krbtgt/A@B", `x\0y\n\t\b\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrincipal(s)
		if err != nil {
			return
		}
		q, err := ParsePrincipal(p.String())
		if err != nil || !q.Equal(p) {
			t.Fatalf("%q → %v → %v, %v", s, p, q, err)
		}
	})
}

// FuzzDecrypt feeds ciphertexts of any length to every encryption type
// (gokrb5 slices them without checking; Key.decrypt checks first).
func FuzzDecrypt(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add(make([]byte, 28), uint8(1))
	f.Fuzz(func(t *testing.T, ct []byte, which uint8) {
		e := []EType{AES128SHA1, AES256SHA1, AES128SHA256, AES256SHA384, RC4HMAC}[int(which)%5]
		k, _ := NewKey(e, make([]byte, e.keySize()))
		_, _ = k.decrypt(usageAPReqAuth, ct)
	})
}
