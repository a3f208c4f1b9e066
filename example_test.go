package sspi_test

import (
	"context"
	"fmt"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/embedded"
	"github.com/opensspi/sspi/lsa/engine"
	_ "github.com/opensspi/sspi/packages/all"
)

// This example runs a client and a server context against each other
// with NTLM in one process, forwarding the tokens the way an application
// forwards them over its connection, then protects a message.
func Example() {
	ctx := context.Background()

	// An LSA in this process, with an account store holding alice.
	store, _ := accounts.Open(ctx, "memory:", nil)
	p, eng, err := embedded.NewProvider(&engine.Config{Packages: []string{"NTLM"}, Accounts: store}, nil)
	if err != nil {
		panic(err)
	}
	defer p.Close()
	eng.SetPassword(ctx, "EXAMPLE", "alice", []byte("alice-Passw0rd"))

	// AcquireCredentialsHandle on both sides.
	clientCred, _ := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, &sspi.CredentialsOptions{
		Identity: &sspi.AuthIdentity{User: "alice", Domain: "EXAMPLE", Password: []byte("alice-Passw0rd")},
	})
	serverCred, _ := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: "HOST/server.example.com"})

	client := sspi.NewClientContext(clientCred, &sspi.ClientConfig{
		Target: "HOST/server.example.com",
		Flags:  sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect,
	})
	server := sspi.NewServerContext(serverCred, nil)
	defer client.Delete()
	defer server.Delete()

	// The token loop: InitializeSecurityContext, AcceptSecurityContext, …
	var tok []byte
	for {
		out, status, err := client.Initialize(ctx, tok)
		if err != nil {
			panic(err)
		}
		fmt.Println("client:", status)
		if len(out) == 0 {
			break
		}
		tok, status, err = server.Accept(ctx, out)
		if err != nil {
			panic(err)
		}
		fmt.Println("server:", status)
		if len(tok) == 0 {
			break
		}
	}

	id, _ := server.Identity()
	fmt.Println("server sees", id, "- mapped:", client.Mapped() && server.Mapped())

	// EncryptMessage / DecryptMessage.
	sealed, _ := client.Wrap([]byte("attack at dawn"), true)
	plain, encrypted, err := server.Unwrap(sealed)
	fmt.Printf("%q encrypted=%v err=%v\n", plain, encrypted, err)
	// Output:
	// client: SEC_I_CONTINUE_NEEDED
	// server: SEC_I_CONTINUE_NEEDED
	// client: SEC_E_OK
	// server: SEC_E_OK
	// server sees EXAMPLE\alice - mapped: true
	// "attack at dawn" encrypted=true err=<nil>
}

// Status values carry the Windows codes; errors wrap them.
func ExampleStatusOf() {
	err := &sspi.Error{Status: sspi.StatusLogonDenied, Detail: "ntlm: the user name or password is incorrect"}
	fmt.Println(sspi.StatusOf(err) == sspi.StatusLogonDenied)
	fmt.Printf("%#x %v\n", uint32(sspi.StatusOf(err)), sspi.StatusOf(err).String())
	// Output:
	// true
	// 0x8009030c SEC_E_LOGON_DENIED
}
