package opaque_test

import (
	"bytes"
	"fmt"

	"github.com/opensspi/sspi/packages/opaque"
)

// Example runs a registration and a login of RFC 9807 with both roles in
// one process. A real deployment carries the messages (their Bytes) over
// its own channel, and the server stores the record.
func Example() {
	cfg := &opaque.Config{
		Context: []byte("example app v1"),
		KSF:     opaque.Argon2id(1024, 1, 1), // small, for the example
	}
	setup, err := opaque.GenerateServerSetup(nil) // once, kept secret
	if err != nil {
		panic(err)
	}
	server := opaque.NewServer(cfg, setup)
	password, cid := []byte("correct horse"), []byte("alice@example.com")

	// Registration: request, response, record.
	c := opaque.NewClient(cfg)
	req, _ := c.CreateRegistrationRequest(password)
	resp, _ := server.CreateRegistrationResponse(req, cid)
	record, _, _ := c.FinalizeRegistrationRequest(resp)

	// Login: KE1, KE2, KE3.
	c = opaque.NewClient(cfg)
	ke1, _ := c.GenerateKE1(password)
	login, ke2, _ := server.GenerateKE2(ke1, record, cid)
	ke3, clientKey, _, err := c.GenerateKE3(ke2)
	if err != nil {
		panic(err) // a wrong password fails here, before KE3 is sent
	}
	serverKey, err := login.ServerFinish(ke3)
	fmt.Println(err, bytes.Equal(clientKey, serverKey), len(serverKey))
	// Output: <nil> true 64
}
