package krb5_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/opensspi/sspi/internal/krb5"
)

func ExampleConfig_ServicePrincipal() {
	cfg, err := krb5.ParseConfig([]byte(`
[libdefaults]
	default_realm = EXAMPLE.COM
[domain_realm]
	.sales.example.com = SALES.EXAMPLE.COM
`))
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"host@db.sales.example.com", "HTTP/www.example.com", "cifs/fs.example.com@OTHER.COM"} {
		p, err := cfg.ServicePrincipal(name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p)
	}
	// Output:
	// host/db.sales.example.com@SALES.EXAMPLE.COM
	// HTTP/www.example.com@EXAMPLE.COM
	// cifs/fs.example.com@OTHER.COM
}

// Example shows the AP exchange between an initiator and an acceptor in
// one process, as the LSA runs the two halves of a Kerberos context.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := krb5.LoadConfig() // KRB5_CONFIG, or /etc/krb5.conf
	if err != nil {
		log.Fatal(err)
	}
	kdc := &krb5.Client{Config: cfg}
	alice, _ := cfg.Principal("alice")
	tgt, err := kdc.GetInitialCredentialsPassword(ctx, alice, "alice-Passw0rd", nil)
	if err != nil {
		log.Fatal(err)
	}
	spn, _ := cfg.ServicePrincipal("host@localhost")
	svc, err := kdc.GetServiceTicket(ctx, tgt, spn, nil)
	if err != nil {
		log.Fatal(err)
	}
	req, err := krb5.NewAPReq(svc, krb5.APReqOptions{Flags: krb5.GSSMutual | krb5.GSSInteg, MutualRequired: true})
	if err != nil {
		log.Fatal(err)
	}

	var keytab []byte // the service's keytab, read by the LSA
	kt, err := krb5.ParseKeytab(keytab)
	if err != nil {
		log.Fatal(err)
	}
	acc := &krb5.Acceptor{Keytab: kt, Service: &spn, ReplayCache: &krb5.MemoryReplayCache{}}
	got, err := acc.VerifyAPReq(ctx, req.Message)
	if err != nil {
		log.Fatal(err)
	}
	rep, err := got.NewAPRep(krb5.APRepOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := req.VerifyAPRep(rep.Message); err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Client, "authenticated to", got.Server)
}
