#!/usr/bin/python3
"""gss_peer.py -- a gss-ntlmssp peer for the interop tests, driven from Go.

gss-ntlmssp is the NTLM mechanism (OID 1.3.6.1.4.1.311.2.2.10) of MIT
GSS-API; this script drives it through python3-gssapi. Run it with Debian's
/usr/bin/python3, which has the gssapi module.

    gss_peer.py check                     prints "ok" if the NTLM mech loads
    gss_peer.py initiator [options]       gss_init_sec_context side
    gss_peer.py acceptor  [options]       gss_accept_sec_context side

Options:
    --user DOMAIN\\user   initiator name; without --password-env its password
                         is looked up in NTLM_USER_FILE (DOMAIN:user:password)
    --password-env VAR   take the initiator's password from $VAR and use
                         gss_acquire_cred_with_password (no file needed)
    --target SVC@HOST    initiator's target, a host-based service name
    --cb-b64 B64         channel bindings: application_data (no addresses)
    --mech MECH          ntlm (default): gss-ntlmssp directly; spnego: MIT's
                         SPNEGO, which negotiates among the mechanisms it
                         has credentials for (here gss-ntlmssp, or krb5
                         with a ticket or keytab); krb5: MIT's Kerberos
    --no-protect         initiator asks for no integrity or confidentiality
                         (an authentication-only context; gss-ntlmssp then
                         negotiates neither SIGN nor SEAL nor KEY_EXCH)
    --flags LIST         initiator's flags, comma-separated among mutual,
                         replay, sequence, conf, integ, deleg (instead of
                         the default conf,integ,replay,sequence)
    --enctypes LIST      krb5: limit the ticket session key and the
                         subkeys to these encryption type numbers
                         (gss_krb5_set_allowable_enctypes on the
                         credentials)
    --name SVC@HOST      acceptor: accept as this host-based service only
                         (default: any key of KRB5_KTNAME)
    --neg-mechs LIST     with --mech spnego: the mechanisms SPNEGO may
                         offer (initiator) or choose (acceptor), in order,
                         comma-separated (gss_set_neg_mechs on the
                         credentials), such as krb5 or mskrb5,krb5 (the
                         OID Windows offers first, 1.2.840.48018.1.2.2)

For krb5 the realm comes from the environment: KRB5_CONFIG, KRB5CCNAME
(the initiator's default credentials), KRB5_KTNAME (the acceptor's keys),
KRB5RCACHEDIR.

The acceptor verifies against NTLM_USER_FILE. NETBIOS_COMPUTER_NAME and
NETBIOS_DOMAIN_NAME name the acceptor machine in its CHALLENGE.

Protocol: one ASCII line per message on stdin/stdout, standard base64
("-" for no bytes).

  handshake   TOK <b64>           a context token, either direction; the
                                  initiator writes the first one
              DONE <json>         this side is established: {"peer": the
                                  initiator's name (acceptor only),
                                  "session_key": hex, "flags": [...]}
              FAIL <json>         this side failed: {"major", "minor",
                                  "error"}; the script then exits 1
  then commands from Go, each answered by exactly one line:
              WRAP <0|1> <b64>    gss_wrap, conf_req 0 or 1
                                  -> WRAPPED <b64 token> <conf_state 0|1>
              UNWRAP <b64>        gss_unwrap
                                  -> DATA <b64 plaintext> <conf_state 0|1>
              MIC <b64>           gss_get_mic  -> MIC <b64 token>
              VERIFY <b64> <b64>  gss_verify_mic (message, token) -> VERIFIED
              DELEGATE <svc@host> acceptor, krb5: initiate a context to
                                  svc@host with the credentials the
                                  initiator delegated (no mutual
                                  authentication) -> TOKEN <b64 AP-REQ>
              QUIT                -> RESULT <json counts>, exit 0
  a command that fails answers BAD <json> (same fields as FAIL) and the
  session goes on; gss-ntlmssp has then consumed key stream, so Go sends
  only QUIT after a BAD from UNWRAP.

stderr carries diagnostics only.
"""
import argparse
import base64
import binascii
import json
import os
import sys

import gssapi
import gssapi.raw as graw

NTLM = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
KRB5 = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")
# The Kerberos OID as Windows 2000 misencoded it; MIT's krb5 mechanism
# answers to it too (gss_mech_krb5_wrong).
MSKRB5 = gssapi.OID.from_int_seq("1.2.840.48018.1.2.2")
MECHS = {"ntlm": NTLM, "spnego": SPNEGO, "krb5": KRB5, "mskrb5": MSKRB5}
# GSS_C_INQ_SSPI_SESSION_KEY: the exported session key of an NTLM context.
SSPI_SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")


def send(*fields):
    print(" ".join(fields), flush=True)


def b64(b):
    # "-" stands for no bytes, so that every field is non-empty.
    return base64.b64encode(b).decode() if b else "-"


def unb64(s):
    return b"" if s == "-" else base64.b64decode(s, validate=True)


def failure(e):
    """the JSON of a failure: GSS major/minor codes when there are some"""
    if isinstance(e, gssapi.exceptions.GSSError):
        return json.dumps({"major": e.maj_code, "minor": e.min_code,
                           "error": e.gen_message().replace("\n", " ")})
    return json.dumps({"major": 0, "minor": 0, "error": str(e)})


def session_key(ctx):
    try:
        return graw.inquire_sec_context_by_oid(ctx, SSPI_SESSION_KEY)[0].hex()
    except gssapi.exceptions.GSSError:
        return ""


def bindings(args):
    if args.cb_b64 is None:
        return None
    return graw.ChannelBindings(application_data=unb64(args.cb_b64))


F = gssapi.RequirementFlag
FLAG_NAMES = {
    "mutual": F.mutual_authentication, "deleg": F.delegate_to_peer,
    "replay": F.replay_detection, "sequence": F.out_of_sequence_detection,
    "conf": F.confidentiality, "integ": F.integrity,
}


def limit_enctypes(args, creds):
    """gss_krb5_set_allowable_enctypes for --enctypes"""
    if args.enctypes:
        graw.krb5_set_allowable_enctypes(creds, [int(e) for e in args.enctypes.split(",")])


def initiator(args):
    mech = MECHS[args.mech]
    creds = None
    if args.user:
        name = gssapi.Name(args.user, gssapi.NameType.user)
        if args.password_env:
            pw = os.environ[args.password_env].encode()
            creds = gssapi.Credentials(graw.acquire_cred_with_password(
                name, pw, usage="initiate", mechs=[mech]).creds)
        else:  # the password comes from NTLM_USER_FILE
            creds = gssapi.Credentials(name=name, usage="initiate", mechs=[mech])
    if args.enctypes or args.neg_mechs:
        if creds is None:
            creds = gssapi.Credentials(usage="initiate", mechs=[mech])
        limit_enctypes(args, creds)
    if args.neg_mechs:
        graw.set_neg_mechs(creds, [MECHS[m] for m in args.neg_mechs.split(",")])
    flags = F.confidentiality | F.integrity | F.replay_detection | F.out_of_sequence_detection
    if args.flags is not None:
        flags = 0
        for f in filter(None, args.flags.split(",")):
            flags |= FLAG_NAMES[f]
    if args.no_protect:
        # python-gssapi takes 0 for its default (mutual + sequence, which
        # gss-ntlmssp turns into SIGN); mutual alone means nothing to NTLM.
        flags = F.mutual_authentication
    ctx = gssapi.SecurityContext(
        name=gssapi.Name(args.target, gssapi.NameType.hostbased_service),
        creds=creds, mech=mech, usage="initiate", channel_bindings=bindings(args),
        flags=flags)
    out = ctx.step()
    while True:
        if out:
            send("TOK", b64(out))
        if ctx.complete:
            return ctx, None
        kind, rest = read()
        if kind != "TOK":
            raise ValueError("expected TOK, got " + kind)
        out = ctx.step(unb64(rest[0]))


def acceptor(args):
    name = gssapi.Name(args.name, gssapi.NameType.hostbased_service) if args.name else None
    creds = gssapi.Credentials(name=name, usage="accept", mechs=[MECHS[args.mech]])
    limit_enctypes(args, creds)
    if args.neg_mechs:
        # gss_set_neg_mechs: the mechanisms SPNEGO may choose
        graw.set_neg_mechs(creds, [MECHS[m] for m in args.neg_mechs.split(",")])
    ctx = gssapi.SecurityContext(creds=creds, usage="accept", channel_bindings=bindings(args))
    while not ctx.complete:
        kind, rest = read()
        if kind != "TOK":
            raise ValueError("expected TOK, got " + kind)
        out = ctx.step(unb64(rest[0]))
        if out:
            send("TOK", b64(out))
    # gss-ntlmssp 1.2 display names end in a NUL. (Reading target_name of
    # an acceptor context crashes it, so we never do.)
    return ctx, str(ctx.initiator_name).rstrip("\x00")


def read():
    line = sys.stdin.readline()
    if not line:
        raise EOFError("stdin closed")
    fields = line.split()
    return (fields[0], fields[1:]) if fields else ("", [])


def serve(ctx):
    """answer Go's message commands until QUIT"""
    counts = {}
    while True:
        kind, f = read()
        counts[kind] = counts.get(kind, 0) + 1
        try:
            if kind == "WRAP":
                # gss-ntlmssp 1.2 seals even when conf_req is 0.
                r = ctx.wrap(unb64(f[1]), f[0] == "1")
                send("WRAPPED", b64(r.message), str(int(r.encrypted)))
            elif kind == "UNWRAP":
                r = ctx.unwrap(unb64(f[0]))
                send("DATA", b64(r.message), str(int(r.encrypted)))
            elif kind == "MIC":
                send("MIC", b64(ctx.get_signature(unb64(f[0]))))
            elif kind == "VERIFY":
                ctx.verify_signature(unb64(f[0]), unb64(f[1]))
                send("VERIFIED")
            elif kind == "DELEGATE":
                if ctx.delegated_creds is None:
                    raise ValueError("no delegated credentials")
                target = gssapi.Name(f[0], gssapi.NameType.hostbased_service)
                out = gssapi.SecurityContext(name=target, creds=ctx.delegated_creds,
                                             usage="initiate", mech=KRB5, flags=0).step()
                send("TOKEN", b64(out))
            elif kind == "QUIT":
                send("RESULT", json.dumps(counts, sort_keys=True))
                return
            else:
                raise ValueError("unknown command " + kind)
        except (gssapi.exceptions.GSSError, ValueError, IndexError, binascii.Error) as e:
            counts["BAD"] = counts.get("BAD", 0) + 1
            send("BAD", failure(e))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("role", choices=["check", "initiator", "acceptor"])
    p.add_argument("--user")
    p.add_argument("--password-env")
    p.add_argument("--target", default="HTTP@server.example.com")
    p.add_argument("--cb-b64")
    p.add_argument("--no-protect", action="store_true")
    p.add_argument("--mech", choices=sorted(MECHS), default="ntlm")
    p.add_argument("--flags")
    p.add_argument("--enctypes")
    p.add_argument("--name")
    p.add_argument("--neg-mechs")
    args = p.parse_args()
    if args.role == "check":
        mech = MECHS[args.mech]
        send("ok" if mech in graw.indicate_mechs() else "no-" + args.mech + "-mech")
        return 0
    try:
        ctx, peer = (initiator if args.role == "initiator" else acceptor)(args)
    except (gssapi.exceptions.GSSError, ValueError, IndexError, binascii.Error, KeyError) as e:
        send("FAIL", failure(e))
        return 1
    done = {"session_key": session_key(ctx),
            "flags": sorted(f.name for f in ctx.actual_flags),
            "mech": ctx.mech.dotted_form if ctx.mech else ""}
    if peer is not None:
        done["peer"] = peer
        done["delegated"] = ctx.delegated_creds is not None
    send("DONE", json.dumps(done, sort_keys=True))
    serve(ctx)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EOFError:
        sys.exit(1)  # Go closed our stdin early: nothing to report to
