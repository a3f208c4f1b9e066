package kerberos

import (
	"bytes"
	"testing"

	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/opensspi/sspi/internal/krb5/kcrypto"
)

// checkGokrb5MIC exchanges MIC tokens and integrity-only Wrap tokens with
// gokrb5 v8's gssapi package (a second implementation, test-only), both
// ways. gokrb5 has no sealed Wrap tokens.
func checkGokrb5MIC(t *testing.T, e kcrypto.EType, ini, acc *msgState) {
	t.Helper()
	key := types.EncryptionKey{KeyType: int32(e), KeyValue: ini.key}
	msg := []byte("agreement with gokrb5")

	// gokrb5 signs as the initiator; we verify as the acceptor.
	mt := gssapi.MICToken{Flags: 0, SndSeqNum: 42, Payload: msg}
	if err := mt.SetChecksum(key, kcrypto.UsageInitiatorSign); err != nil {
		t.Fatal(err)
	}
	b, err := mt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.verifyMIC(msg, b); err != nil {
		t.Fatalf("%v: gokrb5's MIC token: %v", e, err)
	}
	// We sign; gokrb5 verifies.
	mic, _ := ini.getMIC(msg)
	var theirs gssapi.MICToken
	if err := theirs.Unmarshal(mic, false); err != nil {
		t.Fatal(err)
	}
	theirs.Payload = msg
	if ok, err := theirs.Verify(key, kcrypto.UsageInitiatorSign); !ok {
		t.Fatalf("%v: gokrb5 rejects our MIC token: %v", e, err)
	}

	// Integrity-only Wrap tokens.
	wt := gssapi.WrapToken{Flags: 0, EC: uint16(e.ChecksumSize()), RRC: 0, SndSeqNum: 43, Payload: msg}
	if err := wt.SetCheckSum(key, kcrypto.UsageInitiatorSeal); err != nil {
		t.Fatal(err)
	}
	b, err = wt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	plain, sealed, err := acc.unwrap(b)
	if err != nil || sealed || !bytes.Equal(plain, msg) {
		t.Fatalf("%v: gokrb5's Wrap token: %v", e, err)
	}
	w, _ := ini.wrap(false, msg)
	var wt2 gssapi.WrapToken
	if err := wt2.Unmarshal(w, false); err != nil {
		t.Fatal(err)
	}
	if ok, err := wt2.Verify(key, kcrypto.UsageInitiatorSeal); !ok || !bytes.Equal(wt2.Payload, msg) {
		t.Fatalf("%v: gokrb5 rejects our Wrap token: %v", e, err)
	}
}
