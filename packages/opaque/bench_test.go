package opaque_test

import (
	"testing"

	"github.com/opensspi/sspi/packages/opaque"
)

// BenchmarkLogin is one whole login, both roles in this process: KE1,
// KE2 with a real record, KE3 (with the KSF) and ServerFinish. With the
// identity KSF it measures the protocol's own cost; with the default
// Argon2id (64 MiB, t=3, p=4) what a login costs in practice, nearly all
// of it on the client.
func BenchmarkLogin(b *testing.B) {
	for _, bc := range []struct {
		name string
		ksf  opaque.KSF
	}{
		{"KSF=identity", opaque.InsecureIdentityKSF()},
		{"KSF=Argon2id-m64MiB-t3-p4", opaque.DefaultKSF()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := opaque.Config{KSF: bc.ksf}
			setup := newSetup(b)
			pw, cid := []byte("password"), []byte("alice")
			rec := register(b, &cfg, setup, pw, cid)
			srv := opaque.NewServer(&cfg, setup)
			b.ReportAllocs()
			for b.Loop() {
				c := opaque.NewClient(&cfg)
				ke1, err := c.GenerateKE1(pw)
				if err != nil {
					b.Fatal(err)
				}
				sl, ke2, err := srv.GenerateKE2(ke1, rec, cid)
				if err != nil {
					b.Fatal(err)
				}
				ke3, _, _, err := c.GenerateKE3(ke2)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sl.ServerFinish(ke3); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
		})
	}
}

// BenchmarkServerPerLogin is the server's whole share of a login:
// parsing KE1, GenerateKE2 and, for a known client, ServerFinish of the
// client's KE3 (an unknown client never gets that far). Known and unknown
// clients must cost the same up to KE2: the fake record is derived on
// every login and the record chosen in constant time.
func BenchmarkServerPerLogin(b *testing.B) {
	cfg := opaque.Config{KSF: opaque.InsecureIdentityKSF()}
	setup := newSetup(b)
	pw, cid := []byte("password"), []byte("alice")
	rec := register(b, &cfg, setup, pw, cid)
	srv := opaque.NewServer(&cfg, setup)
	c := opaque.NewClient(&cfg)
	ke1, err := c.GenerateKE1(pw)
	if err != nil {
		b.Fatal(err)
	}
	raw := ke1.Bytes()
	for _, bc := range []struct {
		name   string
		record *opaque.RegistrationRecord
		cid    []byte
	}{
		{"known", rec, cid},
		{"unknown", nil, []byte("mallory")},
	} {
		b.Run(bc.name+"/KE2", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				k, err := opaque.ParseKE1(raw)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := srv.GenerateKE2(k, bc.record, bc.cid); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
