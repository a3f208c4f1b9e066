#!/usr/bin/python3
"""ntlm_auth_peer.py -- a python ntlm-auth client for the interop tests.

python3-ntlm-auth (Debian's 1.4) is an NTLM client written in Python by
people other than gss-ntlmssp's and Samba's authors. It is a client only.
Run this with Debian's /usr/bin/python3, which has the ntlm_auth module.
ntlm-auth needs MD4, which OpenSSL 3 keeps in its legacy provider: the
caller points OPENSSL_CONF at a configuration that activates it (the Go
tests write one into their temporary directory).

    ntlm_auth_peer.py check               prints "ok" if ntlm_auth and MD4 work
    ntlm_auth_peer.py initiator [options]

Options:
    --user USER --domain DOMAIN --workstation NAME
    --password-env VAR   the password comes from $VAR

Protocol: one ASCII line per message on stdin/stdout, standard base64.

  handshake   TOK <b64>           NEGOTIATE_MESSAGE out, CHALLENGE_MESSAGE
                                  in, AUTHENTICATE_MESSAGE out
              DONE <json>         {"session_key": hex, "flags": the
                                  NEGOTIATE_MESSAGE's NegotiateFlags}
              FAIL <json>         {"error"}; the script then exits 1
  then, each answered by exactly one line:
              WRAP <b64>          NtlmContext.wrap (signature, then the
                                  sealed data) -> WRAPPED <b64>
              UNWRAP <b64>        NtlmContext.unwrap -> DATA <b64>
              QUIT                -> RESULT <json counts>, exit 0
  a command that fails answers BAD <json> and the session goes on (the
  RC4 state may then be spent, so Go sends only QUIT after one).
"""
import argparse
import base64
import hashlib
import json
import os
import struct
import sys


def send(*fields):
    print(" ".join(fields), flush=True)


def b64(b):
    return base64.b64encode(b).decode()


def unb64(s):
    return base64.b64decode(s, validate=True)


def read():
    line = sys.stdin.readline()
    if not line:
        raise EOFError("stdin closed")
    fields = line.split()
    return (fields[0], fields[1:]) if fields else ("", [])


def failure(e):
    return json.dumps({"error": "%s: %s" % (type(e).__name__, e)})


def check():
    try:
        hashlib.new("md4", b"")
        import ntlm_auth.ntlm  # noqa: F401
    except Exception as e:  # noqa: BLE001 - report why the peer is unusable
        send("unavailable", failure(e))
        return 1
    send("ok")
    return 0


def initiator(args):
    from ntlm_auth.ntlm import NtlmContext
    ctx = NtlmContext(args.user, os.environ[args.password_env], domain=args.domain,
                      workstation=args.workstation, ntlm_compatibility=3)
    neg = ctx.step()
    send("TOK", b64(neg))
    kind, f = read()
    if kind != "TOK":
        raise ValueError("expected TOK, got " + kind)
    auth = ctx.step(unb64(f[0]))
    send("TOK", b64(auth))
    flags = struct.unpack("<I", neg[12:16])[0]
    send("DONE", json.dumps({"session_key": (ctx.session_key or b"").hex(),
                             "flags": ["%#010x" % flags]}, sort_keys=True))
    return ctx


def serve(ctx):
    counts = {}
    while True:
        kind, f = read()
        counts[kind] = counts.get(kind, 0) + 1
        try:
            if kind == "WRAP":
                send("WRAPPED", b64(ctx.wrap(unb64(f[0]))))
            elif kind == "UNWRAP":
                send("DATA", b64(ctx.unwrap(unb64(f[0]))))
            elif kind == "QUIT":
                send("RESULT", json.dumps(counts, sort_keys=True))
                return
            else:
                raise ValueError("unknown command " + kind)
        except Exception as e:  # noqa: BLE001 - ntlm_auth raises bare Exception
            counts["BAD"] = counts.get("BAD", 0) + 1
            send("BAD", failure(e))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("role", choices=["check", "initiator"])
    p.add_argument("--user", default="alice")
    p.add_argument("--domain", default="EXAMPLE")
    p.add_argument("--workstation", default="PYCLIENT")
    p.add_argument("--password-env", default="NTLM_AUTH_PASSWORD")
    args = p.parse_args()
    if args.role == "check":
        return check()
    try:
        ctx = initiator(args)
    except EOFError:
        raise
    except Exception as e:  # noqa: BLE001 - ntlm_auth raises bare Exception
        send("FAIL", failure(e))
        return 1
    serve(ctx)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EOFError:
        sys.exit(1)  # Go closed our stdin early: nothing to report to
