package opaque

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// Fuzz targets of the security package's own encodings (tokens, stored
// record, packed context, message trailer) and of the acceptor's first
// leg. Seeds come from a handshake between the package's halves on a
// fake LSA (packageSeeds).

// seedExchange runs a handshake on a fake LSA and returns its tokens, the
// stored record and the packed contexts.
type seedExchange struct {
	ke1, ke2, ke3     []byte
	verifier          []byte
	cliPacked, srvPkd []byte
	exported          []byte
	regRequest        []byte
	regResponse       []byte
	regUpload         []byte
	dir               string // the secret store holding the setup
}

func newSeedExchange(tb testing.TB) *seedExchange {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	f := newFakeLSA()
	p := newLSAPackage(PackageConfig{KSF: engineKSF, Secrets: FileSecretStore(dir)})
	if err := p.Initialize(ctx, 0, &engineParams, f); err != nil {
		tb.Fatal(err)
	}
	x := &seedExchange{dir: dir}
	r, req, err := NewRegistration([]byte(testPassword), nil)
	if err != nil {
		tb.Fatal(err)
	}
	x.regRequest = req
	if x.regResponse, err = p.CreateRegistrationResponse(ctx, testDomain, testUser, req); err != nil {
		tb.Fatal(err)
	}
	if x.regUpload, err = r.Finish(x.regResponse); err != nil {
		tb.Fatal(err)
	}
	if x.verifier, err = p.FinishRegistration(ctx, testDomain, testUser, x.regUpload); err != nil {
		tb.Fatal(err)
	}
	f.addAccount(testDomain, testUser, x.verifier)
	cc, err := p.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound,
		Identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}})
	if err != nil {
		tb.Fatal(err)
	}
	sc, err := p.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: testTarget})
	if err != nil {
		tb.Fatal(err)
	}
	flags := secpkg.ISCReqSequenceDetect | secpkg.ISCReqConfidentiality
	r1, err := p.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: testTarget, Flags: flags,
		Bindings: &secpkg.ChannelBindings{ApplicationData: []byte("tls-server-end-point:seed")}})
	if err != nil {
		tb.Fatal(err)
	}
	r2, err := p.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: r1.Token})
	if err != nil {
		tb.Fatal(err)
	}
	r3, err := p.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Context: r1.Context, Token: r2.Token})
	if err != nil {
		tb.Fatal(err)
	}
	r4, err := p.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Context: r2.Context, Token: r3.Token})
	if err != nil {
		tb.Fatal(err)
	}
	x.ke1, x.ke2, x.ke3 = r1.Token, r2.Token, r3.Token
	x.cliPacked, x.srvPkd = r3.ContextData, r4.ContextData
	u, err := (&userPackage{}).InitUserModeContext(1, x.cliPacked)
	if err != nil {
		tb.Fatal(err)
	}
	if x.exported, err = u.ExportContext(); err != nil {
		tb.Fatal(err)
	}
	return x
}

// packageSeeds are the corpus files of the package's targets.
func packageSeeds(tb testing.TB) map[string][]byte {
	x := newSeedExchange(tb)
	sealed := func() []byte {
		s, err := unpackSession(x.cliPacked, originEstablished)
		if err != nil {
			tb.Fatal(err)
		}
		msg := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, trailerSize)}, {Type: secpkg.BufferData, Data: []byte("seed message")}}
		if err := s.sealMessage(0, msg); err != nil {
			tb.Fatal(err)
		}
		return append(msg[0].Data, msg[1].Data...)
	}()
	longName := append(append([]byte(nil), x.ke1[:ke1HeaderFixed]...), 0x04, 0x01) // target length 1025
	return map[string][]byte{
		"FuzzKE1Token/ours-with-bindings":       x.ke1,
		"FuzzKE1Token/target-length-1025":       longName,
		"FuzzKE1Token/unknown-flag-bits":        append([]byte{1, 1, 0x80}, x.ke1[3:]...),
		"FuzzKE2Token/ours-argon2id":            x.ke2,
		"FuzzKE2Token/identity-ksf-with-params": append([]byte{1, 2, 0, 0xff, 0, 0, 0, 1}, x.ke2[8:]...),
		"FuzzKE3Token/ours":                     x.ke3,
		"FuzzStoredRecord/ours":                 x.verifier,
		"FuzzStoredRecord/empty-identifier":     append(append([]byte(nil), x.verifier[:1+ksfSize+Npk]...), append([]byte{0, 0}, x.verifier[len(x.verifier)-RegistrationRecordSize:]...)...),
		"FuzzPackedContext/ours-initiator":      x.cliPacked,
		"FuzzPackedContext/ours-acceptor":       x.srvPkd,
		"FuzzPackedContext/ours-exported":       x.exported,
		"FuzzUnseal/ours-sealed":                sealed,
		"FuzzUnseal/trailer-only":               sealed[:trailerSize],
		"FuzzRegistrationTokens/request":        x.regRequest,
		"FuzzRegistrationTokens/response":       x.regResponse,
		"FuzzRegistrationTokens/upload":         x.regUpload,
		"FuzzAcceptor/ours-ke1-token":           x.ke1,
		"FuzzAcceptor/ke2-token-as-first":       x.ke2,
	}
}

func addSeeds(f *testing.F, target string) {
	for name, b := range packageSeeds(f) {
		if len(name) > len(target) && name[:len(target)+1] == target+"/" {
			f.Add(b)
		}
	}
}

func FuzzKE1Token(f *testing.F) {
	addSeeds(f, "FuzzKE1Token")
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := parseKE1Token(data)
		if err != nil {
			if secpkg.StatusOf(err) != secpkg.StatusInvalidToken {
				t.Fatalf("status %v", secpkg.StatusOf(err))
			}
			return
		}
		if out := tok.marshal(); !bytes.Equal(out, data) {
			t.Fatal("re-marshalled token differs")
		}
	})
}

func FuzzKE2Token(f *testing.F) {
	addSeeds(f, "FuzzKE2Token")
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := parseKE2Token(data)
		if err != nil {
			return
		}
		if out := tok.marshal(); !bytes.Equal(out, data) {
			t.Fatal("re-marshalled token differs")
		}
	})
}

func FuzzKE3Token(f *testing.F) {
	addSeeds(f, "FuzzKE3Token")
	f.Fuzz(func(t *testing.T, data []byte) {
		ke3, err := parseKE3Token(data)
		if err != nil {
			return
		}
		if out := marshalKE3Token(ke3); !bytes.Equal(out, data) {
			t.Fatal("re-marshalled token differs")
		}
	})
}

func FuzzStoredRecord(f *testing.F) {
	addSeeds(f, "FuzzStoredRecord")
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseStoredRecord(data)
		if err != nil {
			return
		}
		if out := r.marshal(); !bytes.Equal(out, data) {
			t.Fatal("re-marshalled record differs")
		}
	})
}

func FuzzPackedContext(f *testing.F) {
	addSeeds(f, "FuzzPackedContext")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range []origin{originEstablished, originExported} {
			s, err := unpackSession(data, o)
			if err != nil {
				continue
			}
			if out := s.pack(o); !bytes.Equal(out, data) {
				t.Fatal("re-packed context differs")
			}
		}
	})
}

// FuzzUnseal feeds trailer||data to the server's UnsealMessage and
// VerifySignature: never a panic, never a success for bytes the client
// did not make, and a failure leaves the expected sequence number alone.
func FuzzUnseal(f *testing.F) {
	addSeeds(f, "FuzzUnseal")
	key := bytes.Repeat([]byte{9}, Nx)
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, _ := newSession(roleAcceptor, key, contextFlags(wireSequenceDetect, 0), time.Time{})
		if len(data) < trailerSize {
			return
		}
		for _, verify := range []bool{false, true} {
			msg := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: append([]byte(nil), data[:trailerSize]...)}, {Type: secpkg.BufferData, Data: append([]byte(nil), data[trailerSize:]...)}}
			var err error
			if verify {
				_, err = srv.verifySignature(msg)
			} else {
				_, err = srv.unsealMessage(msg)
			}
			if err == nil {
				t.Fatal("a message not made under this key verified")
			}
			if srv.recv.seq != 0 {
				t.Fatal("a failed message moved the sequence number")
			}
		}
	})
}

func FuzzRegistrationTokens(f *testing.F) {
	addSeeds(f, "FuzzRegistrationTokens")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tt := range []tokenType{tokenRegistrationRequest, tokenRegistrationResponse, tokenRegistrationUpload} {
			ksf, body, err := parseRegistrationToken(data, tt)
			if err != nil {
				continue
			}
			if ksf != (KSF{}) && ksf.Validate() != nil {
				t.Fatal("invalid KSF parsed")
			}
			if 2+len(body) > len(data) {
				t.Fatal("body longer than the token")
			}
		}
	})
}

// FuzzAcceptor feeds any first token to the acceptor: an error with a
// known status, or a KE2 token of the one size; nothing leaks.
func FuzzAcceptor(f *testing.F) {
	addSeeds(f, "FuzzAcceptor")
	ctx := context.Background()
	x := newSeedExchange(f)
	fl := newFakeLSA()
	fl.addAccount(testDomain, testUser, x.verifier)
	p := newLSAPackage(PackageConfig{KSF: engineKSF, Secrets: FileSecretStore(x.dir)})
	if err := p.Initialize(ctx, 0, &engineParams, fl); err != nil {
		f.Fatal(err)
	}
	sc, err := p.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := p.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: data})
		if err != nil {
			switch secpkg.StatusOf(err) {
			case secpkg.StatusInvalidToken, secpkg.StatusWrongPrincipal, secpkg.StatusBadBindings, secpkg.StatusLogonDenied:
			default:
				t.Fatalf("status %v: %v", secpkg.StatusOf(err), err)
			}
			return
		}
		if len(res.Token) != ke2TokenSize || res.Status != secpkg.StatusContinueNeeded {
			t.Fatalf("KE2 token of %d bytes, status %v", len(res.Token), res.Status)
		}
		p.DeleteContext(ctx, res.Context)
	})
}
