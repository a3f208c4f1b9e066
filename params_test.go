package sspi_test

import "github.com/opensspi/sspi/secpkg"

func lsaParams() secpkg.Parameters {
	return secpkg.Parameters{MachineName: "SERVER", DomainName: "EXAMPLE", DNSMachineName: "server.example.com", DNSDomainName: "example.com"}
}
