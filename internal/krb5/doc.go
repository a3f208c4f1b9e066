// Package krb5 is the Kerberos seam of the authority (DESIGN.md §6,
// "Kerberos lives in the LSA"): everything the Kerberos security package
// needs from Kerberos proper, in one place, behind an API that shows no
// gokrb5 type. Only the LSA-mode half of packages/kerberos imports it;
// keys, keytabs, TGTs and delegated tickets it handles stay in the LSA.
// The RFC 4121 context layer (GSS token framing, Wrap and MIC, sequence
// windows) is not here: it is packages/kerberos, on top of this package,
// with fast per-message crypto in internal/krb5/kcrypto.
//
// # What it does
//
//   - Configuration: krb5.conf in MIT's profile format ([LoadConfig],
//     [ParseConfig]): default realm, KDCs of each realm, domain_realm,
//     encryption types, clock skew, forwardable, enforce_ok_as_delegate.
//   - KDC exchanges ([Client]): the AS exchange with a password or a
//     keytab, pre-authentication by PA-ENC-TIMESTAMP with the KDC's salt;
//     the TGS exchange for a service, following referrals across realms;
//     forwarded TGTs for delegation. Our own transport: UDP, TCP, the
//     fallback between them, several KDCs in order, a context on every
//     exchange, replies bounded before they are read. Every reply is
//     checked as MIT checks it, and only its encrypted part is believed
//     (nonce, names, Orpheus' Lyre, times, skew, key usage, etypes).
//   - Keytabs ([ParseKeytab]) and MIT FILE ccaches ([ParseCCache]), read
//     from bytes: the LSA decides who may read which file.
//   - The AP exchange for the GSS mechanism (RFC 4121 4.1): [NewAPReq]
//     builds an AP-REQ with the 0x8003 checksum (channel bindings, flags,
//     delegation), a subkey and a sequence number; [Acceptor.VerifyAPReq]
//     makes every check of an acceptor; [AcceptedAPReq.NewAPRep] and
//     [APReq.VerifyAPRep] complete mutual authentication;
//     [MarshalKRBError] and [ParseKRBError] carry refusals.
//   - KRB-CRED ([MarshalKRBCred], [ParseKRBCred]), the PAC ([ParsePAC]),
//     and the replay-cache interface the LSA implements ([ReplayCache]).
//
// gokrb5 v8 provides only the encryption types (RFC 3961/3962/8009/4757
// string-to-key, encryption, checksums), behind [Key]. The ASN.1 of the
// messages is this package's own (cryptobyte, strict DER, every sequence
// bounded), as are the krb5.conf, keytab, ccache, NDR and PAC readers:
// gokrb5's are lenient where a security check needs them strict, can
// panic on hostile input, and cannot encode AP-REP, EncAPRepPart or
// KRB-CRED. Its decoders serve as a second implementation in the tests.
// No parser here needs a recover: each is fuzzed (Fuzz* in
// fuzz_test.go) from seeds captured from MIT krb5 1.20.
//
// # Errors
//
// Every error carries a SEC_E_* status (secpkg.StatusOf) and, where the
// protocol has one, an [ErrorCode] (errors.Is(err, krb5.APErrSkew));
// [ErrorCode.Status] maps one to the other. A KDC's or an acceptor's
// KRB-ERROR arrives as a [*KRBError] in the chain. A wrong password and an
// unknown user give the same status and message.
//
// # The flow in the LSA
//
// Initiator (SpInitLsaModeContext), with the caller's credentials:
//
//	cfg, _ := krb5.LoadConfig()                 // once
//	kdc := &krb5.Client{Config: cfg}            // shared, stateless
//	tgt, err := kdc.GetInitialCredentialsPassword(ctx, alice, password, nil)
//	spn, _ := cfg.ServicePrincipal("host@server.example.com")
//	svc, err := kdc.GetServiceTicket(ctx, tgt, spn, nil)
//	opts := krb5.APReqOptions{Flags: flags, MutualRequired: true, Bindings: cb.GSSEncoding()}
//	if delegate && cfg.MayDelegate(svc.Flags) {
//		opts.Delegate, err = kdc.GetForwardedTGT(ctx, tgt)
//	}
//	req, err := krb5.NewAPReq(svc, opts)        // req.Message: the token body (TOK_ID 01 00)
//	// ... send it, receive the answer (TOK_ID 02 00, or 03 00: a KRB-ERROR) ...
//	rep, err := req.VerifyAPRep(answer)
//	// context keys: rep.Subkey if set, else req.Subkey; sequence numbers
//	// req.SeqNumber (ours) and rep.SeqNumber (theirs).
//
// Acceptor (SpAcceptLsaModeContext), with the service's keytab bytes and
// the LSA's replay cache:
//
//	kt, err := krb5.ParseKeytab(keytabBytes)
//	acc := &krb5.Acceptor{Keytab: kt, Service: &spn, ReplayCache: lsaCache, Bindings: cb.GSSEncoding()}
//	got, err := acc.VerifyAPReq(ctx, token)     // token: the AP-REQ after the GSS framing
//	if err != nil {
//		reply := krb5.MarshalKRBError(err, spn, time.Now())  // MIT sends this as the error token
//	}
//	// got.Client is the authenticated user; got.PAC, got.Delegated (store
//	// it as the user's TGT), got.Flags, got.Bindings, got.EndTime.
//	if got.MutualRequired {
//		rep, err := got.NewAPRep(krb5.APRepOptions{})
//		// send rep.Message; context keys: rep.Subkey; sequence numbers
//		// rep.SeqNumber (ours) and got.SeqNumber (theirs).
//	}
//
// # Testing
//
// The tests run against a real MIT KDC from scripts/dev-realm.sh and
// against MIT's GSS-API through python3-gssapi (testdata/mit_peer.py);
// without a realm they skip, unless SSPI_INTEROP_REQUIRED=1.
package krb5
