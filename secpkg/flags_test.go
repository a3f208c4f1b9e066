package secpkg

import "testing"

// TestRetString: each ISC_RET_* and ASC_RET_* constant prints with its
// sspi.h name, where String gives the ISC_REQ_ / ASC_REQ_ name of the bit.
func TestRetString(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{ISCRetDelegate.RetString(), "ISC_RET_DELEGATE"},
		{ISCRetMutualAuth.RetString(), "ISC_RET_MUTUAL_AUTH"},
		{ISCRetReplayDetect.RetString(), "ISC_RET_REPLAY_DETECT"},
		{ISCRetSequenceDetect.RetString(), "ISC_RET_SEQUENCE_DETECT"},
		{ISCRetConfidentiality.RetString(), "ISC_RET_CONFIDENTIALITY"},
		{ISCRetUseSessionKey.RetString(), "ISC_RET_USE_SESSION_KEY"},
		{ISCRetUsedCollectedCreds.RetString(), "ISC_RET_USED_COLLECTED_CREDS"},
		{ISCRetUsedSuppliedCreds.RetString(), "ISC_RET_USED_SUPPLIED_CREDS"},
		{ISCRetAllocatedMemory.RetString(), "ISC_RET_ALLOCATED_MEMORY"},
		{ISCRetUsedDCEStyle.RetString(), "ISC_RET_USED_DCE_STYLE"},
		{ISCRetDatagram.RetString(), "ISC_RET_DATAGRAM"},
		{ISCRetConnection.RetString(), "ISC_RET_CONNECTION"},
		{ISCRetIntermediateReturn.RetString(), "ISC_RET_INTERMEDIATE_RETURN"},
		{ISCRetCallLevel.RetString(), "ISC_RET_CALL_LEVEL"},
		{ISCRetExtendedError.RetString(), "ISC_RET_EXTENDED_ERROR"},
		{ISCRetStream.RetString(), "ISC_RET_STREAM"},
		{ISCRetIntegrity.RetString(), "ISC_RET_INTEGRITY"},
		{ISCRetIdentify.RetString(), "ISC_RET_IDENTIFY"},
		{ISCRetNullSession.RetString(), "ISC_RET_NULL_SESSION"},
		{ISCRetManualCredValidation.RetString(), "ISC_RET_MANUAL_CRED_VALIDATION"},
		{ISCRetFragmentOnly.RetString(), "ISC_RET_FRAGMENT_ONLY"},
		{ISCRetForwardCredentials.RetString(), "ISC_RET_FORWARD_CREDENTIALS"},
		{ISCRetUsedHTTPStyle.RetString(), "ISC_RET_USED_HTTP_STYLE"},
		{ISCRetNoAdditionalToken.RetString(), "ISC_RET_NO_ADDITIONAL_TOKEN"},
		{ISCRetReauthentication.RetString(), "ISC_RET_REAUTHENTICATION"},
		{ISCRetConfidentialityOnly.RetString(), "ISC_RET_CONFIDENTIALITY_ONLY"},
		{ISCRetMessages.RetString(), "ISC_RET_MESSAGES"},
		{ASCRetDelegate.RetString(), "ASC_RET_DELEGATE"},
		{ASCRetMutualAuth.RetString(), "ASC_RET_MUTUAL_AUTH"},
		{ASCRetReplayDetect.RetString(), "ASC_RET_REPLAY_DETECT"},
		{ASCRetSequenceDetect.RetString(), "ASC_RET_SEQUENCE_DETECT"},
		{ASCRetConfidentiality.RetString(), "ASC_RET_CONFIDENTIALITY"},
		{ASCRetUseSessionKey.RetString(), "ASC_RET_USE_SESSION_KEY"},
		{ASCRetSessionTicket.RetString(), "ASC_RET_SESSION_TICKET"},
		{ASCRetAllocatedMemory.RetString(), "ASC_RET_ALLOCATED_MEMORY"},
		{ASCRetUsedDCEStyle.RetString(), "ASC_RET_USED_DCE_STYLE"},
		{ASCRetDatagram.RetString(), "ASC_RET_DATAGRAM"},
		{ASCRetConnection.RetString(), "ASC_RET_CONNECTION"},
		{ASCRetCallLevel.RetString(), "ASC_RET_CALL_LEVEL"},
		{ASCRetThirdLegFailed.RetString(), "ASC_RET_THIRD_LEG_FAILED"},
		{ASCRetExtendedError.RetString(), "ASC_RET_EXTENDED_ERROR"},
		{ASCRetStream.RetString(), "ASC_RET_STREAM"},
		{ASCRetIntegrity.RetString(), "ASC_RET_INTEGRITY"},
		{ASCRetLicensing.RetString(), "ASC_RET_LICENSING"},
		{ASCRetIdentify.RetString(), "ASC_RET_IDENTIFY"},
		{ASCRetNullSession.RetString(), "ASC_RET_NULL_SESSION"},
		{ASCRetAllowNonUserLogons.RetString(), "ASC_RET_ALLOW_NON_USER_LOGONS"},
		{ASCRetFragmentOnly.RetString(), "ASC_RET_FRAGMENT_ONLY"},
		{ASCRetNoToken.RetString(), "ASC_RET_NO_TOKEN"},
		{ASCRetNoAdditionalToken.RetString(), "ASC_RET_NO_ADDITIONAL_TOKEN"},
		{ASCRetMessages.RetString(), "ASC_RET_MESSAGES"},
		{(ISCRetMutualAuth | ISCRetUsedCollectedCreds).RetString(), "ISC_RET_MUTUAL_AUTH|ISC_RET_USED_COLLECTED_CREDS"},
		{ISCFlags(0).RetString(), "0"},
		{ASCFlags(1 << 40).RetString(), "0x10000000000"},
		{ISCRetIntermediateReturn.String(), "ISC_REQ_CALL_LEVEL"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
