package ntlm_test

import (
	"fmt"

	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
)

// The package as the LSA loads it: SpLsaModeInitialize, then SpGetInfo.
func ExampleNew() {
	pkg := ntlm.New(&ntlm.Config{
		// Accept clients that cannot send channel bindings, but refuse
		// wrong ones.
		ChannelBindingPolicy: ntlm.ChannelBindingIfPresent,
	})
	_, lsa, err := pkg.LSAModeInitialize(secpkg.InterfaceVersion)
	if err != nil {
		panic(err)
	}
	info := lsa.GetInfo()
	fmt.Println(info.Name, info.RPCID, info.MaxToken)
	fmt.Println(info.Capabilities)
	// Output:
	// NTLM 10 2888
	// SECPKG_FLAG_INTEGRITY|SECPKG_FLAG_PRIVACY|SECPKG_FLAG_TOKEN_ONLY|SECPKG_FLAG_CONNECTION|SECPKG_FLAG_MULTI_REQUIRED|SECPKG_FLAG_IMPERSONATION|SECPKG_FLAG_ACCEPT_WIN32_NAME|SECPKG_FLAG_NEGOTIABLE|SECPKG_FLAG_LOGON
}
