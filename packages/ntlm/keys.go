package ntlm

import (
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"strings"
	"time"

	"golang.org/x/crypto/md4"
)

// Every function here is one of the algorithms of MS-NLMP section 3.3
// (responses), 3.4.5 (keys) or 3.1.5.1.2 (MIC). The NTLMv1 and LM ones
// exist so that the acceptor can recognise and refuse such responses, to
// check the MS-NLMP 4.2.2 and 4.2.3 examples, and for the Insecure…
// options of [Config]; nothing on a default path calls them.

// NTOWFv1 (MS-NLMP 3.3.1): MD4(UNICODE(Passwd)), the NT hash. The
// UTF-16 copy of the password is wiped before returning.
func ntowfv1(password []byte) [16]byte {
	u := encodeUTF16(string(password))
	h := md4.New()
	h.Write(u)
	clear(u)
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(NTOWFv1, UNICODE(Uppercase(User) ‖
// UserDom)). It is also LMOWFv2.
func ntowfv2(ntHash []byte, user, domain string) [16]byte {
	m := hmac.New(md5.New, ntHash)
	m.Write(encodeUTF16(strings.ToUpper(user) + domain))
	var out [16]byte
	m.Sum(out[:0])
	return out
}

// hmacMD5 is HMAC_MD5(key, ConcatenationOf(parts...)) (MS-NLMP 6).
func hmacMD5(key []byte, parts ...[]byte) [16]byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	var out [16]byte
	m.Sum(out[:0])
	return out
}

// ntlmv2Response computes the NTLMv2 NtChallengeResponse (MS-NLMP 3.3.2):
// NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge ‖ temp), the
// response NTProofStr ‖ temp, and SessionBaseKey = HMAC_MD5(ResponseKeyNT,
// NTProofStr). temp is the marshalled NTLMv2_CLIENT_CHALLENGE.
func ntlmv2Response(responseKeyNT []byte, serverChallenge, temp []byte) (ntProofStr, sessionBaseKey [16]byte, response []byte) {
	ntProofStr = hmacMD5(responseKeyNT, serverChallenge, temp)
	response = append(append(make([]byte, 0, ntProofStrSize+len(temp)), ntProofStr[:]...), temp...)
	sessionBaseKey = hmacMD5(responseKeyNT, ntProofStr[:])
	return ntProofStr, sessionBaseKey, response
}

// lmv2Response computes the LMv2 LmChallengeResponse (MS-NLMP 3.3.2):
// HMAC_MD5(ResponseKeyLM, ServerChallenge ‖ ClientChallenge) ‖
// ClientChallenge.
func lmv2Response(responseKeyLM, serverChallenge, clientChallenge []byte) []byte {
	h := hmacMD5(responseKeyLM, serverChallenge, clientChallenge)
	return append(h[:], clientChallenge...)
}

// desKey7 expands 7 key bytes into a DES key (the parity bits are left
// zero; DES ignores them) — the str_to_key of MS-NLMP 6 DES().
func desKey7(k []byte) []byte {
	return []byte{
		k[0] & 0xFE,
		k[0]<<7 | k[1]>>1,
		k[1]<<6 | k[2]>>2,
		k[2]<<5 | k[3]>>3,
		k[3]<<4 | k[4]>>4,
		k[4]<<3 | k[5]>>5,
		k[5]<<2 | k[6]>>6,
		k[6] << 1,
	}
}

// des7 is DES(K, D) with a 7-byte key (MS-NLMP 6).
func des7(key7, data8 []byte) []byte {
	c, err := des.NewCipher(desKey7(key7))
	if err != nil {
		panic(err) // an 8-byte key is always valid
	}
	out := make([]byte, 8)
	c.Encrypt(out, data8)
	return out
}

// desl is DESL(K, D) (MS-NLMP 6): DES of D under K[0..6], K[7..13] and
// K[14..15] ‖ Z(5).
func desl(key16, data8 []byte) []byte {
	k3 := append(append([]byte(nil), key16[14:16]...), make([]byte, 5)...)
	out := des7(key16[0:7], data8)
	out = append(out, des7(key16[7:14], data8)...)
	return append(out, des7(k3, data8)...)
}

// lmowfv1 is LMOWFv1 (MS-NLMP 3.3.1): the LM hash, DES of "KGS!@#$%" under
// the upper-cased OEM password padded to 14 bytes. Insecure; only for the
// MS-NLMP 4.2.2 example.
func lmowfv1(password string) [16]byte {
	p := make([]byte, 14)
	copy(p, strings.ToUpper(password))
	magic := []byte("KGS!@#$%")
	var out [16]byte
	copy(out[:8], des7(p[0:7], magic))
	copy(out[8:], des7(p[7:14], magic))
	clear(p)
	return out
}

// ntlmv1Response is the NTLMv1 NtChallengeResponse (MS-NLMP 3.3.1), with
// extended session security when clientChallenge is non-nil: DESL over
// MD5(ServerChallenge ‖ ClientChallenge)[0..7] instead of the server
// challenge.
func ntlmv1Response(ntHash, serverChallenge, clientChallenge []byte) []byte {
	if clientChallenge == nil {
		return desl(ntHash, serverChallenge)
	}
	h := md5.Sum(append(append([]byte(nil), serverChallenge...), clientChallenge...))
	return desl(ntHash, h[:8])
}

// ntlmv1SessionBaseKey is SessionBaseKey for NTLMv1 (MS-NLMP 3.3.1):
// MD4(NTOWFv1).
func ntlmv1SessionBaseKey(ntHash []byte) [16]byte {
	h := md4.New()
	h.Write(ntHash)
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// kxkeyV1 is KXKEY (MS-NLMP 3.4.5.1) for NTLMv1 responses; for NTLMv2 the
// key exchange key is the SessionBaseKey itself. lmowf is needed only for
// NTLMSSP_NEGOTIATE_LM_KEY and NTLMSSP_REQUEST_NON_NT_SESSION_KEY, which
// this package never negotiates.
func kxkeyV1(flags negotiateFlags, sessionBaseKey, lmResponse, serverChallenge, lmowf []byte) [16]byte {
	var out [16]byte
	switch {
	case flags&flagExtendedSessionSecurity != 0:
		out = hmacMD5(sessionBaseKey, serverChallenge, lmResponse[:8])
	case flags&flagLMKey != 0:
		k := append(append([]byte(nil), lmowf[7]), 0xBD, 0xBD, 0xBD, 0xBD, 0xBD, 0xBD)
		copy(out[:8], des7(lmowf[:7], lmResponse[:8]))
		copy(out[8:], des7(k, lmResponse[:8]))
	case flags&flagRequestNonNTSessionKey != 0:
		copy(out[:8], lmowf[:8])
	default:
		copy(out[:], sessionBaseKey)
	}
	return out
}

// Magic constants of SIGNKEY and SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3),
// with their terminating NUL.
var (
	clientSignMagic = []byte("session key to client-to-server signing key magic constant\x00")
	serverSignMagic = []byte("session key to server-to-client signing key magic constant\x00")
	clientSealMagic = []byte("session key to client-to-server sealing key magic constant\x00")
	serverSealMagic = []byte("session key to server-to-client sealing key magic constant\x00")
)

// signKey is SIGNKEY (MS-NLMP 3.4.5.2) for the sender named by client:
// MD5(ExportedSessionKey ‖ magic) with extended session security, none
// without.
func signKey(flags negotiateFlags, exportedSessionKey []byte, client bool) []byte {
	if flags&flagExtendedSessionSecurity == 0 {
		return nil
	}
	magic := serverSignMagic
	if client {
		magic = clientSignMagic
	}
	h := md5.Sum(append(append([]byte(nil), exportedSessionKey...), magic...))
	return h[:]
}

// sealKey is SEALKEY (MS-NLMP 3.4.5.3) for the sender named by client.
// With extended session security the key is cut to 128, 56 or 40 bits and
// hashed with the direction's magic; without it, and without
// NTLMSSP_NEGOTIATE_LM_KEY (never negotiated here), it is the
// ExportedSessionKey itself, shared by both directions.
func sealKey(flags negotiateFlags, exportedSessionKey []byte, client bool) []byte {
	if flags&flagExtendedSessionSecurity == 0 {
		return append([]byte(nil), exportedSessionKey...)
	}
	k := exportedSessionKey
	switch {
	case flags&flag128 != 0:
	case flags&flag56 != 0:
		k = k[:7]
	default:
		k = k[:5]
	}
	magic := serverSealMagic
	if client {
		magic = clientSealMagic
	}
	h := md5.Sum(append(append([]byte(nil), k...), magic...))
	return h[:]
}

// computeMIC is the MIC (MS-NLMP 3.1.5.1.2): HMAC_MD5(ExportedSessionKey,
// NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE), the last with its MIC zeroed.
func computeMIC(exportedSessionKey, negotiate, challenge, authenticate []byte) [16]byte {
	return hmacMD5(exportedSessionKey, negotiate, challenge, authenticate)
}

// channelBindingsHash is the MsvAvChannelBindings value (MS-NLMP 2.2.2.1,
// 3.1.5.1.2): MD5 of the gss_channel_bindings_struct, or Z(16) when the
// client has none.
func channelBindingsHash(gss []byte) [16]byte {
	if gss == nil {
		return [16]byte{}
	}
	return md5.Sum(gss)
}

// fileTimeEpoch is the FILETIME epoch, 1601-01-01 UTC.
var fileTimeEpoch = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// toFileTime converts t to a FILETIME: 100-nanosecond intervals since
// 1601 (MS-DTYP 2.3.3), as MsvAvTimestamp carries.
func toFileTime(t time.Time) uint64 {
	// Work in seconds to stay clear of time.Duration's 292-year range.
	secs := t.Unix() - fileTimeEpoch.Unix()
	if secs < 0 {
		return 0
	}
	return uint64(secs)*10_000_000 + uint64(t.Nanosecond()/100)
}

// fromFileTime converts a FILETIME to a time.
func fromFileTime(ft uint64) time.Time {
	return time.Unix(fileTimeEpoch.Unix()+int64(ft/10_000_000), int64(ft%10_000_000)*100).UTC()
}

// fileTimeBytes encodes a FILETIME little-endian.
func fileTimeBytes(ft uint64) []byte {
	return binary.LittleEndian.AppendUint64(nil, ft)
}
