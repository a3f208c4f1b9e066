package krb5

// The fuzz targets' seed corpora are real messages of MIT krb5 1.20 and
// its KDC, captured from a throw-away realm of scripts/dev-realm.sh:
//
//	eval "$(scripts/dev-realm.sh up)"
//	KRB5_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds ./internal/krb5/
//
// writes testdata/fuzz/Fuzz*/ and testdata/captured.json: the keys and
// the clock the fuzz targets need so that the captured messages decrypt
// and verify (their inner parsers are reached), and the plaintexts.
// testdata/fuzz/README.md says what each seed is.

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// captured is testdata/captured.json.
type captured struct {
	Note          string            `json:"note"`
	Time          int64             `json:"time"`           // the acceptor's clock for the captured AP-REQs
	ServiceKeytab string            `json:"service_keytab"` // base64: opens the captured tickets
	Service       string            `json:"service"`
	Keys          map[string]string `json:"keys"` // name → "etype:hex": session keys of captured exchanges
	CTime         int64             `json:"ctime"`
	Cusec         int32             `json:"cusec"` // of our AP-REQ that MIT's AP-REP answers
}

func (c *captured) key(t testing.TB, name string) Key {
	t.Helper()
	et, h, _ := strings.Cut(c.Keys[name], ":")
	n, err := strconv.Atoi(et)
	if err != nil {
		t.Fatalf("captured key %q: %v", name, err)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(EType(n), b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	capturedOnce sync.Once
	capturedData *captured
	capturedErr  error
)

func loadCaptured(t testing.TB) *captured {
	t.Helper()
	capturedOnce.Do(func() {
		b, err := os.ReadFile("testdata/captured.json")
		if err != nil {
			capturedErr = err
			return
		}
		capturedData = &captured{}
		capturedErr = json.Unmarshal(b, capturedData)
	})
	if capturedErr != nil {
		t.Fatal(capturedErr)
	}
	return capturedData
}

func (c *captured) keytab(t testing.TB) *Keytab {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(c.ServiceKeytab)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := ParseKeytab(b)
	if err != nil {
		t.Fatal(err)
	}
	return kt
}

// capturedAcceptor is an acceptor that accepts the captured AP-REQs: the
// captured keytab and clock, a fresh replay cache.
func (c *captured) acceptor(t testing.TB) *Acceptor {
	kt := c.keytab(t)
	now := time.Unix(c.Time, 0)
	return &Acceptor{Keytab: kt, ReplayCache: &MemoryReplayCache{}, Time: func() time.Time { return now }}
}

// seed reads one seed file of a fuzz target.
func seed(t testing.TB, target, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/fuzz", target, name))
	if err != nil {
		t.Fatal(err)
	}
	_, v, ok := strings.Cut(string(b), "\n")
	v = strings.TrimSpace(v)
	if !ok || !strings.HasPrefix(v, "[]byte(") {
		t.Fatalf("seed %s/%s: not a []byte corpus file", target, name)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(v, "[]byte("), ")"))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

func writeSeed(t testing.TB, target, name string, data []byte) {
	t.Helper()
	dir := filepath.Join("testdata/fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func keyString(k Key) string {
	return strconv.Itoa(int(k.EType())) + ":" + hex.EncodeToString(k.Bytes())
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("KRB5_WRITE_SEEDS") != "1" {
		t.Skip("KRB5_WRITE_SEEDS=1 rewrites the seed corpora from the live realm")
	}
	r := realm(t)
	c := r.client(t)
	alice := r.principal(t, r.User)
	cap := &captured{
		Note: "Captured from a throw-away MIT krb5 1.20 realm of scripts/dev-realm.sh by TestWriteFuzzSeeds " +
			"(capture_test.go). The keys are those of that realm, which no longer exists; they let the fuzz " +
			"targets decrypt the captured messages.",
		Service: r.Service,
		Keys:    map[string]string{},
	}
	kt, err := os.ReadFile(r.ServiceKeytab)
	if err != nil {
		t.Fatal(err)
	}
	cap.ServiceKeytab = base64.StdEncoding.EncodeToString(kt)
	writeSeed(t, "FuzzKeytab", "mit-service-keytab", kt)
	if b, err := os.ReadFile(r.UserKeytab); err == nil {
		writeSeed(t, "FuzzKeytab", "mit-user-keytab", b)
	}

	// The KDC's replies to our AS and TGS requests.
	var replies [][]byte
	var mu sync.Mutex
	c.tamper = func(rep []byte) []byte {
		mu.Lock()
		replies = append(replies, rep)
		mu.Unlock()
		return rep
	}
	tgt, err := c.GetInitialCredentialsPassword(testContext(t), alice, r.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := c.Config.ServicePrincipal(r.Service)
	svc, err := c.GetServiceTicket(testContext(t), tgt, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 3 {
		t.Fatalf("%d replies", len(replies))
	}
	writeSeed(t, "FuzzKRBError", "mit-kdc-preauth-required", replies[0])
	writeSeed(t, "FuzzKDCRep", "mit-as-rep", replies[1])
	writeSeed(t, "FuzzKDCRep", "mit-tgs-rep", replies[2])
	aliceKey, _ := StringToKey(AES256SHA1, r.Password, defaultSalt(alice), nil)
	for i, usage := range map[int]uint32{1: usageASRep, 2: usageTGSRepSessionKey} {
		var m kdcRep
		msg := msgASRep
		key := aliceKey
		if i == 2 {
			msg, key = msgTGSRep, tgt.SessionKey
		}
		_ = m.unmarshal(replies[i], msg)
		pt, err := m.EncPart.open(key, usage)
		if err != nil {
			t.Fatal(err)
		}
		writeSeed(t, "FuzzEncParts", []string{"", "mit-enc-as-rep-part", "mit-enc-tgs-rep-part"}[i], pt)
	}
	ke, _ := ParseKRBError(replies[0])
	writeSeed(t, "FuzzMethodData", "mit-preauth-required-e-data", ke.EData)
	writeSeed(t, "FuzzTicket", "mit-service-ticket", svc.Ticket)
	writeSeed(t, "FuzzTicket", "mit-tgt", tgt.Ticket)
	tk, enc, _ := openTicket(t, r.serviceKeytab(t), svc.Ticket)
	_ = tk
	writeSeed(t, "FuzzEncParts", "mit-enc-ticket-part", enc.marshal())
	if pac, err := findPAC(enc.AuthData); err == nil && pac != nil {
		writeSeed(t, "FuzzPAC", "mit-1.20-pac", pac)
	}

	// MIT's initiator: an AP-REQ with bindings and delegation, one without.
	for _, tc := range []struct{ name, flags string }{{"mit-ap-req-deleg-cb", "mutual,deleg,conf,integ"}, {"mit-ap-req-plain", "mutual"}} {
		p := startMIT(t, r, "initiate", r.Service, "--flags", tc.flags, "--cb-hex", hex.EncodeToString([]byte("cb")))
		msg := gssUnwrap(t, p.token(), tokAPReq)
		writeSeed(t, "FuzzAPReq", tc.name, msg)
		acc := r.acceptor(t)
		acc.Bindings = flat([]byte("cb"))
		got, err := acc.VerifyAPReq(context.Background(), msg)
		if err != nil {
			t.Fatal(err)
		}
		cap.Time = got.CTime.Unix()
		if tc.flags == "mutual" {
			rep, _ := got.NewAPRep(APRepOptions{})
			p.send(gssWrap(tokAPRep, rep.Message))
			p.done()
			continue
		}
		var m apReq
		_ = m.unmarshal(msg)
		pt, _ := m.Authenticator.open(got.SessionKey, usageAPReqAuth)
		writeSeed(t, "FuzzEncParts", "mit-authenticator-deleg", pt)
		var a authenticator
		_ = a.unmarshal(pt)
		writeSeed(t, "FuzzGSSChecksum", "mit-deleg-cb", a.Cksum.Sum)
		gc, _ := parseGSSChecksum(a.Cksum.Sum)
		writeSeed(t, "FuzzKRBCred", "mit-krb-cred", gc.Deleg)
		cap.Keys["mit-ap-req-deleg-cb"] = keyString(got.SessionKey)
		var kc krbCred
		_ = kc.unmarshal(gc.Deleg)
		if pt, err := kc.EncPart.open(got.SessionKey, usageKRBCred); err == nil {
			writeSeed(t, "FuzzEncParts", "mit-enc-krb-cred-part", pt)
		}
		// Answer with a KRB-ERROR so that the initiator ends.
		p.send(gssWrap(tokKRBErr, MarshalKRBError(APErrSkew, got.Server, time.Now())))
		p.fail()
	}

	// MIT's acceptor: its AP-REP to our AP-REQ, and its error token.
	p := startMIT(t, r, "accept")
	req, _ := NewAPReq(svc, APReqOptions{Flags: GSSMutual, MutualRequired: true})
	p.send(gssWrap(tokAPReq, req.Message))
	apRepMsg := gssUnwrap(t, p.token(), tokAPRep)
	p.done()
	writeSeed(t, "FuzzAPRep", "mit-ap-rep", apRepMsg)
	cap.Keys["our-ap-req"] = keyString(req.SessionKey)
	cap.CTime, cap.Cusec = req.CTime.Unix(), req.Cusec
	var ar apRep
	_ = ar.unmarshal(apRepMsg)
	if pt, err := ar.EncPart.open(req.SessionKey, usageAPRep); err == nil {
		writeSeed(t, "FuzzEncParts", "mit-enc-ap-rep-part", pt)
	}
	p = startMIT(t, r, "accept")
	req, _ = NewAPReq(svc, APReqOptions{Flags: GSSMutual, MutualRequired: true, Time: func() time.Time { return time.Now().Add(time.Hour) }})
	p.send(gssWrap(tokAPReq, req.Message))
	writeSeed(t, "FuzzKRBError", "mit-acceptor-skew", gssUnwrap(t, p.token(), tokKRBErr))
	p.fail()

	// ccaches MIT's kinit writes, v4 and v3.
	for _, v := range []string{"3", "4"} {
		dir := t.TempDir()
		conf := filepath.Join(dir, "krb5.conf")
		_ = os.WriteFile(conf, []byte("[libdefaults]\n\tccache_type = "+v+"\n"), 0o600)
		cmd := exec.Command("kinit", r.User)
		cmd.Env = append(os.Environ(), "KRB5_CONFIG="+conf+":"+r.Config, "KRB5CCNAME=FILE:"+filepath.Join(dir, "cc"))
		cmd.Stdin = strings.NewReader(r.Password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kinit: %v %s", err, out)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "cc"))
		writeSeed(t, "FuzzCCache", "mit-kinit-v"+v, b)
	}

	b, _ := json.MarshalIndent(cap, "", "\t")
	if err := os.WriteFile("testdata/captured.json", append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// findPAC returns the raw PAC of a ticket's authorization data.
func findPAC(ad []typedData) ([]byte, error) {
	for _, d := range ad {
		if d.Type != adIfRelevant {
			continue
		}
		inner, err := parseAuthData(d.Data)
		if err != nil {
			return nil, err
		}
		for _, e := range inner {
			if e.Type == adWin2kPAC {
				return e.Data, nil
			}
		}
	}
	return nil, nil
}
