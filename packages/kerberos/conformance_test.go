package kerberos_test

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/opensspi/sspi/internal/gssframe"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// TestConformance runs the conformance kit on Kerberos against the MIT
// realm, through the embedded engine and through the daemon protocol:
// alice's password goes to the KDC (the AS exchange) from the LSA, the
// acceptor holds the realm's service keytab.
func TestConformance(t *testing.T) {
	r := liveRealm(t)
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			secpkgtest.Run(t, secpkgtest.Config{
				Package:    kerberos.Name,
				NewHarness: func(t *testing.T) secpkgtest.Harness { return mode.Harness(t, newEngine(t, r, nil)) },
				User:       r.User, Domain: r.Realm, Password: []byte(r.Password),
				UnknownUser:     "nobody-" + r.User,
				Target:          spn(r.Service),
				ClientFlags:     allFlags,
				ServerFlags:     sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity,
				WantClientFlags: sspi.ISCRetMutualAuth | sspi.ISCRetConfidentiality | sspi.ISCRetIntegrity | sspi.ISCRetSequenceDetect | sspi.ISCRetReplayDetect,
				WantServerFlags: sspi.ASCRetMutualAuth | sspi.ASCRetConfidentiality | sspi.ASCRetIntegrity | sspi.ASCRetSequenceDetect | sspi.ASCRetReplayDetect,
				Mapped:          true,
				SequenceDetect:  true,
				SequenceWindow:  true,
				TokenHeader:     16,
				Unprotected:     unprotected,
				Exportable:      true,
			})
		})
	}
}

// unprotected finds, in the AP-REQ (leg 0), the name type of the
// ticket's plaintext server name: RFC 4120 protects neither it nor the
// rest of the plaintext name, and like MIT our acceptor compares names
// without their types (a changed name is refused: it names another
// service, or no key of ours).
func unprotected(leg int, tok []byte) []int {
	if leg != 0 {
		return nil
	}
	tok = bytes.Clone(tok)
	inner, err := gssframe.ParseFor(tok, gssframe.Kerberos)
	if err != nil || len(inner) < 2 {
		return nil
	}
	s := cryptobyte.String(inner[2:])
	var apreq, f3, tkt, tseq, f2, sname, f0 cryptobyte.String
	var nt cryptobyte.String
	ok := s.ReadASN1(&apreq, asn1.Tag(0x6e)) && // [APPLICATION 14] AP-REQ
		apreq.ReadASN1(&apreq, asn1.SEQUENCE) &&
		apreq.SkipASN1(asn1.Tag(0).Constructed().ContextSpecific()) && // pvno
		apreq.SkipASN1(asn1.Tag(1).Constructed().ContextSpecific()) && // msg-type
		apreq.SkipASN1(asn1.Tag(2).Constructed().ContextSpecific()) && // ap-options
		apreq.ReadASN1(&f3, asn1.Tag(3).Constructed().ContextSpecific()) &&
		f3.ReadASN1(&tkt, asn1.Tag(0x61)) && // [APPLICATION 1] Ticket
		tkt.ReadASN1(&tseq, asn1.SEQUENCE) &&
		tseq.SkipASN1(asn1.Tag(0).Constructed().ContextSpecific()) && // tkt-vno
		tseq.SkipASN1(asn1.Tag(1).Constructed().ContextSpecific()) && // realm
		tseq.ReadASN1(&f2, asn1.Tag(2).Constructed().ContextSpecific()) &&
		f2.ReadASN1(&sname, asn1.SEQUENCE) &&
		sname.ReadASN1(&f0, asn1.Tag(0).Constructed().ContextSpecific()) &&
		f0.ReadASN1(&nt, asn1.INTEGER)
	if !ok {
		return nil
	}
	var out []int
	for i := range nt {
		out = append(out, cap(tok)-cap(nt)+i)
	}
	return out
}
