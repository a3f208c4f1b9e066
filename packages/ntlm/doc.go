// Package ntlm is the NTLM security package (msv1_0's NTLM in Windows):
// NTLMv2 authentication and session security as specified by [MS-NLMP],
// behind the secpkg interfaces.
//
// [New] returns the package; packages/all registers it. Its LSA-mode half
// keeps credentials (NT hashes) and runs the handshake; once a context is
// established it hands a packed context holding only session keys to the
// user-mode half, which signs and seals in the application.
//
// # Place in the design
//
// NTLM is one of the security packages of the design (the msv1_0 role):
// it implements the interfaces of package secpkg and nothing else sees its
// internals. It may import only secpkg, internal/wire, golang.org/x/crypto
// and the standard library; never the LSA (lsa), the account store
// (accounts) or the application API (the module root), which reach it
// through secpkg alone (TestImports enforces this).
//
// The files follow the order in which a reader of MS-NLMP meets the parts:
// package.go (the entry points, SpLsaModeInitialize, SpUserModeInitialize,
// SpInitialize, SpGetInfo, SpShutdown); credentials.go
// (SpAcquireCredentialsHandle and the credential); messages.go,
// av_pairs.go, flags.go and charset.go (MS-NLMP 2.2); keys.go (3.3,
// 3.4.5); client.go (3.1.5, the initiator); server.go (3.2.5, the
// acceptor); reflection.go (the acceptor's outstanding challenges, which
// the initiator checks); lsa_context.go (the LSA's context handles:
// DeleteContext, attributes, the unmapped message calls); session.go (an
// established context); session_security.go and rc4.go (3.4);
// mech_list_mic.go (the SPNEGO mechListMIC for Negotiate, MS-SPNG
// 3.3.5.1); packed.go (the packed context); user_mode.go (the user-mode
// half); logon.go (SpLogonUser and the verifiers).
//
// # Protocol
//
// The initiator sends a NEGOTIATE_MESSAGE with the flags of a current
// Windows client (Unicode, NTLM, extended session security, 128- and
// 56-bit, key exchange, always-sign, request-target, version, and sign and
// seal as requested), answers the CHALLENGE_MESSAGE with an NTLMv2
// response, a fresh exported session key under key exchange, and a MIC
// over all three messages; its NTLMv2 blob carries MsvAvFlags 0x2,
// MsvAvTargetName (the target SPN) and MsvAvChannelBindings (the MD5 of
// the channel bindings, or Z(16)). An authentication-only context (no
// signing or sealing asked for) clears key exchange in the
// AUTHENTICATE_MESSAGE and sends no EncryptedRandomSessionKey, as Windows
// does; its session key is then KeyExchangeKey.
//
// The acceptor answers in the character set the client offers (MS-NLMP
// 2.2.2.5): Unicode when NTLMSSP_NEGOTIATE_UNICODE is set, else OEM,
// whose names it reads as code page 437 (charset.go); a message with
// neither is SEC_E_INVALID_TOKEN. Under key exchange it takes the
// client's EncryptedRandomSessionKey whenever one is sent, with or without
// signing and sealing (as Samba and gss-ntlmssp do), and KeyExchangeKey
// when a client without signing or sealing sends none.
//
// The acceptor issues a single-use challenge with a timestamp and this
// machine's names, then checks, in this order: challenge lifetime and
// single use (LSAFunctions.CheckReplay); the kind of response (NTLMv1, LM
// and anonymous refused unless [Config] allows them); the negotiated flags
// (extended session security and 128-bit keys required; every service the
// caller asked for must be negotiated); the NTLMv2 blob (every AV pair the server sent
// echoed unchanged, MsvAvEOL present, timestamp within the window); the
// response against the account's verifier, inside the LSA's CheckLogon,
// which decides and records the attempt under the account's lock (unknown
// accounts use a dummy verifier on the same path, and every credential
// failure is the same SEC_E_LOGON_DENIED); the MIC, required whenever the client's MsvAvFlags
// announces one (which a relay cannot clear, NTProofStr covers it), and for
// every NTLMv2 logon with Config.RequireMIC; the target name; the channel
// bindings. The initiator refuses to answer a challenge this LSA's acceptor
// issued for another service than the one it targets (reflection), while a
// client of this host may authenticate to this host's own service under
// that service's name. Failures are audited; the LSA counts wrong passwords
// towards lockout.
//
// Status codes of acceptor failures:
//
//	malformed message, replayed challenge, missing MIC    SEC_E_INVALID_TOKEN
//	challenge older than ChallengeLifetime                SEC_E_CONTEXT_EXPIRED
//	NTLMv2 timestamp outside the window                   SEC_E_TIME_SKEW
//	unknown user, wrong password, disabled, locked,
//	  NTLMv1/LM/anonymous by policy, AV pair not echoed   SEC_E_LOGON_DENIED
//	MIC does not verify (a message was altered)           SEC_E_MESSAGE_ALTERED
//	no extended session security or 128-bit keys          SEC_E_ALGORITHM_MISMATCH
//	a requested service was not negotiated                SEC_E_SECURITY_QOS_FAILED
//	target name missing or different                      SEC_E_WRONG_PRINCIPAL
//	channel bindings missing or different                 SEC_E_BAD_BINDINGS
//
// Messages are parsed strictly: fields must lie in the payload (not in the
// header, not past the end, not overlapping each other; offsets are
// checked in 64-bit arithmetic), Unicode names must be valid UTF-16 of
// even length without NUL, OEM names must hold no NUL, AV pair lists must end in MsvAvEOL, hold no
// pair twice and give Timestamp 8 and ChannelBindings 16 bytes. A
// CHALLENGE_MESSAGE TargetInfo may hold nothing after MsvAvEOL; the AV
// list in an NTLMv2 response may be followed by zero bytes only (the Z(4)
// of MS-NLMP 3.3.2). Messages may carry bytes after their last field,
// which MS-NLMP allows and the MIC covers. Messages larger than 48000
// bytes are refused before anything is allocated.
//
// # Session security
//
// Signing and sealing follow MS-NLMP 3.4 with extended session security:
// one RC4 key stream and one sequence number per direction
// (connection-oriented), or per-message keys MD5(SealingKey ‖ SeqNum) with
// the caller's sequence numbers (datagram), which must increase on the
// sending side so that no key stream is used twice; a datagram receiver
// checks the number it is given against the signature and leaves replay
// windows to its caller. DATA buffers are signed and
// sealed in place, READONLY_WITH_CHECKSUM buffers signed only, READONLY
// buffers neither. A wrong sequence number is SEC_E_OUT_OF_SEQUENCE when
// replay or sequence detection was negotiated, and any other alteration
// SEC_E_MESSAGE_ALTERED; a failed verification leaves the buffers and key
// state untouched. After sequence number 0xFFFFFFFF a direction fails
// with SEC_E_CONTEXT_EXPIRED. SealMessage with QOPWrapNoEncrypt signs
// without encrypting; an NTLM signature does not say whether data was
// sealed, so the receiver verifies such a message with VerifySignature.
//
// # Packed context
//
// ContextData (and the result of ExportContext) is version 1 of this
// layout, little-endian:
//
//	off  size  field
//	  0     4  magic "NTPC"
//	  4     1  version, 1
//	  5     1  origin: 1 SpInit/SpAcceptLsaModeContext, 2 SpExportSecurityContext
//	  6     1  role: 1 initiator, 2 acceptor
//	  7     1  keys: 0 none (anonymous), 1 session security follows
//	  8     4  NegotiateFlags as negotiated (MS-NLMP 2.2.2.5)
//	 12     4  secpkg.ContextFlags
//	 16     8  start, Unix nanoseconds
//	 24     8  expiry, Unix nanoseconds; 0 never
//	 32    16  ExportedSessionKey
//	 48    16  sending SigningKey       64  16  sending SealingKey
//	 80    16  receiving SigningKey     96  16  receiving SealingKey
//	112     8  next sending SeqNum      120  8  next receiving SeqNum (2^32: spent)
//	128   258  sending RC4 state: S[0..255], i, j
//	386   258  receiving RC4 state
//	644        user name, client name, server name: each a 16-bit length
//	           and UTF-8, at most 1024 bytes; nothing may follow
//
// Without keys every byte from 32 to 643 is zero. It never holds a
// password or NT hash. InitUserModeContext accepts only origin 1 and
// ImportContext only origin 2; an unknown version, a state that is not a
// permutation or trailing bytes are SEC_E_INVALID_TOKEN. A context that
// has been exported cannot be used any more, so that two processes never
// seal with one key stream.
//
// # Not supported
//
// LM_KEY, NTLMv1 and LM session keys are never negotiated. LMv1 responses
// cannot be checked against an NT-hash verifier and always fail. The
// connectionless exchange without NEGOTIATE_MESSAGE is not implemented;
// DATAGRAM is negotiated within the usual three messages.
//
// [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
package ntlm
