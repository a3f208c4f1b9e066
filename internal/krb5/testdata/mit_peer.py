#!/usr/bin/python3
"""mit_peer.py -- MIT krb5's GSS-API mechanism, driven through
python3-gssapi, as the peer of internal/krb5's interop tests. Run it with
Debian's /usr/bin/python3 (the one that has the gssapi module), in the
environment of scripts/dev-realm.sh (KRB5_CONFIG, KRB5CCNAME, KRB5_KTNAME,
KRB5_CLIENT_KTNAME, KRB5RCACHEDIR).

    mit_peer.py initiate TARGET [--flags mutual,deleg,...] [--cb-hex HEX]
        gss_init_sec_context for the host-based service TARGET
        (host@localhost) with the default credentials (the ccache, or
        KRB5_CLIENT_KTNAME). Writes TOK <b64> (the initial context token);
        if the context is not complete, reads TOK <b64> (the acceptor's
        answer, an AP-REP or a KRB-ERROR token) and steps again.
    mit_peer.py accept [--cb-hex HEX] [--deleg-ccache PATH]
        gss_accept_sec_context with the keytab KRB5_KTNAME. Reads
        TOK <b64>; writes TOK <b64> if the acceptor produced a token
        (the AP-REP). Delegated credentials are stored in the FILE
        ccache PATH.

Both end with one line:
    DONE <json>   {"initiator", "target", "flags", "session_key" (hex,
                   GSS_C_INQ_SSPI_SESSION_KEY), "delegated" (bool)}
    FAIL <json>   {"error": the GSS major and minor messages}
and exit 0 (DONE) or 1 (FAIL). stderr carries diagnostics only.
"""
import argparse
import base64
import json
import sys

import gssapi
import gssapi.raw as graw

F = gssapi.RequirementFlag
FLAGS = {
    "mutual": F.mutual_authentication, "deleg": F.delegate_to_peer,
    "replay": F.replay_detection, "sequence": F.out_of_sequence_detection,
    "conf": F.confidentiality, "integ": F.integrity,
}
KRB5 = gssapi.MechType.kerberos
SSPI_SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")


def send(kind, payload):
    if isinstance(payload, (bytes, bytearray)):
        payload = base64.b64encode(payload).decode()
    elif not isinstance(payload, str):
        payload = json.dumps(payload, sort_keys=True)
    sys.stdout.write(f"{kind} {payload}\n")
    sys.stdout.flush()


def recv_token():
    line = sys.stdin.readline()
    kind, _, rest = line.strip().partition(" ")
    if kind != "TOK":
        raise SystemExit(f"expected TOK, got {line!r}")
    return base64.b64decode(rest, validate=True)


def bindings(args):
    if args.cb_hex is None:
        return None
    return graw.ChannelBindings(application_data=bytes.fromhex(args.cb_hex))


def summary(ctx):
    try:
        key = graw.inquire_sec_context_by_oid(ctx, SSPI_SESSION_KEY)[0].hex()
    except gssapi.exceptions.GSSError as e:
        key = "unavailable: " + str(e)
    return {
        "initiator": str(ctx.initiator_name),
        "target": str(ctx.target_name),
        "flags": sorted(f.name for f in ctx.actual_flags),
        "session_key": key,
    }


def initiate(args):
    flags = 0
    for f in filter(None, args.flags.split(",")):
        flags |= FLAGS[f]
    target = gssapi.Name(args.target, gssapi.NameType.hostbased_service)
    ctx = gssapi.SecurityContext(name=target, mech=KRB5, usage="initiate",
                                 flags=flags, channel_bindings=bindings(args))
    send("TOK", ctx.step())
    if not ctx.complete:
        ctx.step(recv_token())
    out = summary(ctx)
    out["delegated"] = F.delegate_to_peer in ctx.actual_flags
    return out


def accept(args):
    creds = gssapi.Credentials(usage="accept", mechs=[KRB5])
    ctx = gssapi.SecurityContext(creds=creds, usage="accept", channel_bindings=bindings(args))
    tok = ctx.step(recv_token())
    if tok:
        send("TOK", tok)
    if not ctx.complete:
        raise SystemExit("acceptor not complete after one token")
    out = summary(ctx)
    out["delegated"] = ctx.delegated_creds is not None
    if ctx.delegated_creds is not None and args.deleg_ccache:
        ctx.delegated_creds.store(store={"ccache": "FILE:" + args.deleg_ccache},
                                  overwrite=True, set_default=False)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="role", required=True)
    i = sub.add_parser("initiate")
    i.add_argument("target")
    i.add_argument("--flags", default="mutual")
    i.add_argument("--cb-hex")
    a = sub.add_parser("accept")
    a.add_argument("--cb-hex")
    a.add_argument("--deleg-ccache")
    args = p.parse_args()
    try:
        out = initiate(args) if args.role == "initiate" else accept(args)
    except gssapi.exceptions.GSSError as e:
        send("FAIL", {"error": e.gen_message()})
        return 1
    send("DONE", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
