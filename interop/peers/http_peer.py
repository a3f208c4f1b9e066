#!/usr/bin/python3
"""http_peer.py -- an HTTP Negotiate peer on MIT GSS-API, driven from Go.

A small HTTP/1.1 server (the standard library's http.server) whose
authentication is MIT GSS-API through python3-gssapi: SPNEGO by default,
which negotiates gss-ntlmssp (NTLM_USER_FILE) or, with a keytab in
KRB5_KTNAME, Kerberos. Run it with Debian's /usr/bin/python3.

    http_peer.py server [options]   an origin: 401 / WWW-Authenticate
    http_peer.py proxy  [options]   a forward proxy: 407 / Proxy-Authenticate,
                                    CONNECT tunnels only
    http_peer.py client --url URL --user DOMAIN\\user --password-env VAR
                                    one GET, answering 401 with SPNEGO and
                                    verifying the server's final token

Options:
    --mech MECH          spnego (default), ntlm or krb5: the acceptor's mechanism
    --final MODE         the final token of a completed handshake: send
                         (default), drop, or flip (its last byte changed)
    --target SVC@HOST    the client's target, a host-based service name

The handshake is bound to the TCP connection (one handler per connection,
as http.server runs them), and a connection that authenticated stays
authenticated for its later requests.

Protocol with Go (stdout, one line each):
    LISTENING <port>                     bound to 127.0.0.1:<port>
    AUTH <json>                          a handshake completed:
                                         {"peer", "mech", "final"}
    REFUSED <json>                       a handshake failed: {"major",
                                         "minor", "error"}
    CONNECT <target>                     a tunnel was opened (proxy)
    RESULT <json>                        the client's answer: {"status",
                                         "complete", "mech", "body"}
    FAIL <json>                          the client's handshake failed
The server answers an authenticated GET with a JSON body {"peer", "mech"}.
It exits when its standard input closes. stderr carries diagnostics.
"""
import argparse
import base64
import binascii
import http.client
import json
import os
import select
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gssapi

MECHS = {
    "spnego": gssapi.OID.from_int_seq("1.3.6.1.5.5.2"),
    "ntlm": gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10"),
    "krb5": gssapi.OID.from_int_seq("1.2.840.113554.1.2.2"),
}
ARGS = None
OUT = threading.Lock()


def say(*fields):
    with OUT:
        print(" ".join(fields), flush=True)


def failure(e):
    if isinstance(e, gssapi.exceptions.GSSError):
        return {"major": e.maj_code, "minor": e.min_code,
                "error": e.gen_message().replace("\n", " ")}
    return {"major": 0, "minor": 0, "error": str(e)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy = False

    def setup(self):
        super().setup()
        self.ctx = None    # the handshake in progress on this connection
        self.peer = None   # who this connection authenticated as
        self.mech = ""

    def log_message(self, fmt, *args):
        sys.stderr.write("http_peer: " + (fmt % args) + "\n")

    def reply(self, code, headers=(), body=b""):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fields(self):
        if self.proxy:
            return "Proxy-Authorization", "Proxy-Authenticate", 407
        return "Authorization", "WWW-Authenticate", 401

    def authenticate(self):
        """one leg: returns the final token (or b"") once authenticated,
        None after answering the request itself"""
        cred_field, chal_field, code = self.fields()
        values = self.headers.get_all(cred_field) or []
        if not values:
            if self.peer is not None:
                return b""  # the connection authenticated before
            self.ctx = None
            self.reply(code, [(chal_field, "Negotiate")], b"authenticate\n")
            return None
        scheme, _, token = values[0].partition(" ")
        self.peer = None  # new credentials speak for this request
        if scheme.lower() != "negotiate" or len(values) != 1:
            self.ctx = None
            self.reply(400, body=b"bad credentials\n")
            return None
        try:
            raw = base64.b64decode(token, validate=True)
            if self.ctx is None:
                creds = gssapi.Credentials(usage="accept", mechs=[MECHS[ARGS.mech]])
                self.ctx = gssapi.SecurityContext(creds=creds, usage="accept")
            out = self.ctx.step(raw)
            # python-gssapi keeps the error of a step that produced a
            # token (SPNEGO's reject) and raises it here.
            complete = self.ctx.complete
        except (gssapi.exceptions.GSSError, binascii.Error, ValueError) as e:
            self.ctx = None
            say("REFUSED", json.dumps(failure(e), sort_keys=True))
            self.reply(code, [(chal_field, "Negotiate")], b"refused\n")
            return None
        if not complete:
            self.reply(code, [(chal_field, "Negotiate " + base64.b64encode(out or b"").decode())], b"continue\n")
            return None
        # gss-ntlmssp 1.2 display names end in a NUL.
        self.peer = str(self.ctx.initiator_name).rstrip("\x00")
        self.mech = self.ctx.mech.dotted_form if self.ctx.mech else ""
        self.ctx = None
        final = out or b""
        say("AUTH", json.dumps({"peer": self.peer, "mech": self.mech, "final": len(final)}, sort_keys=True))
        if final and ARGS.final == "drop":
            final = b""
        elif final and ARGS.final == "flip":
            final = final[:-1] + bytes([final[-1] ^ 1])
        return final

    def final_header(self, final):
        _, chal_field, _ = self.fields()
        return [(chal_field, "Negotiate " + base64.b64encode(final).decode())] if final else []

    def do_GET(self):
        if self.proxy:
            self.reply(501, body=b"this proxy only tunnels (CONNECT)\n")
            return
        final = self.authenticate()
        if final is None:
            return
        body = json.dumps({"peer": self.peer, "mech": self.mech}).encode() + b"\n"
        self.reply(200, self.final_header(final) + [("Content-Type", "application/json")], body)

    def do_CONNECT(self):
        if not self.proxy:
            self.reply(405, body=b"not a proxy\n")
            return
        final = self.authenticate()
        if final is None:
            return
        host, _, port = self.path.rpartition(":")
        try:
            up = socket.create_connection((host.strip("[]"), int(port)))
        except (OSError, ValueError) as e:
            self.reply(502, body=str(e).encode())
            return
        say("CONNECT", self.path)
        self.send_response(200, "Connection established")
        for k, v in self.final_header(final):
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()
        self.tunnel(up)
        self.close_connection = True

    def tunnel(self, up):
        client = self.connection
        socks = [client, up]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [])
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (up if s is client else client).sendall(data)
        except OSError:
            pass
        finally:
            up.close()


def negotiate_token(resp):
    """the token of the response's Negotiate challenge, or None"""
    for v in resp.headers.get_all("WWW-Authenticate") or []:
        scheme, _, token = v.strip().partition(" ")
        if scheme.lower() == "negotiate" and token:
            return base64.b64decode(token, validate=True)
    return None


def client():
    u = urllib.parse.urlsplit(ARGS.url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    path = u.path or "/"
    name = gssapi.Name(ARGS.user, gssapi.NameType.user)
    pw = os.environ[ARGS.password_env].encode()
    creds = gssapi.Credentials(gssapi.raw.acquire_cred_with_password(
        name, pw, usage="initiate", mechs=[MECHS[ARGS.mech]]).creds)
    F = gssapi.RequirementFlag
    ctx = gssapi.SecurityContext(
        name=gssapi.Name(ARGS.target, gssapi.NameType.hostbased_service), creds=creds,
        mech=MECHS[ARGS.mech], usage="initiate",
        flags=F.mutual_authentication | F.integrity | F.out_of_sequence_detection)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 401:
        return {"status": resp.status, "complete": False, "mech": "", "body": body.decode()}
    out = ctx.step()
    for _ in range(8):
        conn.request("GET", path, headers={"Authorization": "Negotiate " + base64.b64encode(out).decode()})
        resp = conn.getresponse()
        body = resp.read()
        token = negotiate_token(resp)
        if resp.status == 401 and token is not None and not ctx.complete:
            out = ctx.step(token)
            continue
        if token is not None:
            # The server's final token: a wrong one raises here.
            if ctx.complete:
                raise ValueError("a token after the handshake completed")
            ctx.step(token)
        break
    return {"status": resp.status, "complete": ctx.complete,
            "mech": ctx.mech.dotted_form if ctx.mech else "", "body": body.decode()}


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("role", choices=["server", "proxy", "client"])
    p.add_argument("--mech", choices=sorted(MECHS), default="spnego")
    p.add_argument("--final", choices=["send", "drop", "flip"], default="send")
    p.add_argument("--url")
    p.add_argument("--user")
    p.add_argument("--password-env")
    p.add_argument("--target", default="HTTP@server.example.com")
    ARGS = p.parse_args()
    if ARGS.role == "client":
        try:
            say("RESULT", json.dumps(client(), sort_keys=True))
        except (gssapi.exceptions.GSSError, ValueError, OSError, http.client.HTTPException, KeyError) as e:
            say("FAIL", json.dumps(failure(e), sort_keys=True))
            return 1
        return 0
    Handler.proxy = ARGS.role == "proxy"
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    say("LISTENING", str(srv.server_address[1]))
    sys.stdin.read()  # until Go closes it
    srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
