#!/usr/bin/python3
"""lsa_client.py: a client of the OpenSSPI LSA protocol, version 2.

Written from doc/lsa-protocol.md alone, with the standard library and
cbor2 (Debian's python3-cbor2), to show that a client in another language
can follow the document. interop/lsa_client_test.go runs it against the Go
server.

  lsa_client.py check               prints "ok" when cbor2 imports
  lsa_client.py packages SOCKET     the enabled packages, as JSON
  lsa_client.py handshake SOCKET    an NTLM handshake through the LSA, both
                                    sides (two connections, as two
                                    applications would), then messages
                                    through the contexts kept in the LSA;
                                    prints a JSON report
  lsa_client.py golden DIR          this client's requests against the
                                    golden frames of lsa/lsarpc/testdata/frames

handshake options: --user, --domain, --password-env VAR (the password is
read from that variable, never from the command line), --target.
"""

import argparse
import json
import os
import socket
import struct
import sys

VERSION = 2
MAX_FRAME = 1 << 20

# Statuses (SEC_E_*, SEC_I_*) with their Windows values.
SEC_E_OK = 0
SEC_I_CONTINUE_NEEDED = 0x00090312

# fCredentialUse.
SECPKG_CRED_INBOUND = 1
SECPKG_CRED_OUTBOUND = 2

# ISC_REQ_* and ASC_REQ_* flags.
ISC_REQ_REPLAY_DETECT = 0x4
ISC_REQ_SEQUENCE_DETECT = 0x8
ISC_REQ_CONFIDENTIALITY = 0x10
ISC_REQ_INTEGRITY = 0x10000
ISC_REQ_MESSAGES = 0x100000000
ASC_REQ_CONFIDENTIALITY = 0x10
ASC_REQ_INTEGRITY = 0x20000
ASC_REQ_MESSAGES = 0x100000000
SECURITY_NATIVE_DREP = 0x10

# ProtectMessage operations and SECBUFFER_* types.
OP_MAKE_SIGNATURE, OP_VERIFY_SIGNATURE, OP_ENCRYPT, OP_DECRYPT = 1, 2, 3, 4
SECBUFFER_DATA, SECBUFFER_TOKEN = 1, 2


def cbor():
    import cbor2  # python3-cbor2
    return cbor2


class LSAError(Exception):
    """A failed call: the reply's err."""

    def __init__(self, op, status, msg):
        super().__init__("%s: %s (0x%08x)" % (op, msg, status))
        self.op, self.status, self.msg = op, status, msg


def compact(body):
    """Leaves out the keys whose values are zero: absent means zero."""
    return {k: v for k, v in body.items() if v not in (None, 0, False, "") and v != {}}


def encode(item):
    """One CBOR item, deterministically (sorted keys, shortest lengths)."""
    return cbor().dumps(item, canonical=True)


def request_frame(rid, op, body=None, noreply=False):
    req = {"id": rid, "op": op}
    if body is not None:
        req["body"] = body
    if noreply:
        req["noreply"] = True
    payload = encode(req)
    if len(payload) > MAX_FRAME:
        raise ValueError("request over the frame limit")
    return struct.pack(">I", len(payload)) + payload


# Request bodies, key for key as doc/lsa-protocol.md lists them.

def hello_body(client):
    return compact({"versions": [VERSION], "client": client})


def identity(user, domain, password):
    return compact({"user": user, "domain": domain, "password": password})


def acquire_body(package, use, principal="", logon_id=0, ident=None):
    return compact({"package": package, "use": use, "principal": principal,
                    "logon_id": logon_id, "identity": ident})


def handle_body(handle):
    return {"handle": handle}


def bindings(initiator_addr_type=0, initiator_address=b"", acceptor_addr_type=0,
             acceptor_address=b"", application_data=b""):
    return compact({"initiator_addr_type": initiator_addr_type,
                    "initiator_address": initiator_address or None,
                    "acceptor_addr_type": acceptor_addr_type,
                    "acceptor_address": acceptor_address or None,
                    "application_data": application_data or None})


def initialize_body(credential=None, context=None, target="", flags=0, data_rep=0,
                    token=None, binds=None, can_map=False):
    return compact({"credential": credential, "context": context, "target": target,
                    "flags": flags, "data_rep": data_rep, "token": token,
                    "bindings": binds, "can_map": can_map})


def accept_body(credential=None, context=None, flags=0, data_rep=0, token=None,
                binds=None, can_map=False):
    return compact({"credential": credential, "context": context, "flags": flags,
                    "data_rep": data_rep, "token": token, "bindings": binds,
                    "can_map": can_map})


def buffer(btype, data):
    return compact({"type": btype, "data": data})


def message_body(context, op, buffers, qop=0, seq=0):
    return compact({"context": context, "op": op, "qop": qop, "seq": seq,
                    "buffers": buffers})


class Connection:
    """One connection to the LSA: the kernel tells it who we are."""

    def __init__(self, path, client="lsa_client.py"):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.next_id = 1
        try:
            self.sock.sendall(request_frame(0, "Hello", hello_body(client)))
        except OSError:
            pass  # a server over its limits answers before the hello
        reply = self.recv()
        if "err" in reply:
            err = reply["err"]
            raise LSAError("Hello", err.get("status", 0), err.get("msg", ""))
        self.hello = reply["body"]
        if self.hello["version"] != VERSION:
            raise LSAError("Hello", 0, "server chose version %r" % self.hello["version"])

    def recv(self):
        n = struct.unpack(">I", self.read(4))[0]
        if n == 0 or n > MAX_FRAME:
            raise ValueError("frame of %d bytes" % n)
        return cbor().loads(self.read(n))

    def read(self, n):
        b = b""
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise ConnectionError("the LSA closed the connection")
            b += chunk
        return b

    def call(self, op, body=None):
        rid = self.next_id
        self.next_id += 1
        self.sock.sendall(request_frame(rid, op, body))
        while True:
            reply = self.recv()
            if reply["id"] == 0:
                err = reply.get("err", {})
                raise LSAError(op, err.get("status", 0), "connection closed: " + err.get("msg", ""))
            if reply["id"] == rid:
                break
        if "err" in reply:
            err = reply["err"]
            raise LSAError(op, err.get("status", 0), err.get("msg", ""))
        return reply.get("body", {})

    def send(self, op, body=None):
        """A request that wants no reply (DeleteContext)."""
        rid = self.next_id
        self.next_id += 1
        self.sock.sendall(request_frame(rid, op, body, noreply=True))

    def close(self):
        self.sock.close()


def handshake(args):
    password = os.environ[args.password_env].encode()
    target = args.target
    report = {"ok": False}
    client = Connection(args.socket, "lsa_client.py client pid=%d" % os.getpid())
    server = Connection(args.socket, "lsa_client.py server pid=%d" % os.getpid())
    report["uid"] = client.hello["uid"]
    try:
        report["packages"] = [p["name"] for p in client.call("EnumeratePackages").get("packages", [])]
        ccred = client.call("AcquireCredentials", acquire_body(
            "NTLM", SECPKG_CRED_OUTBOUND, ident=identity(args.user, args.domain, password)))
        scred = server.call("AcquireCredentials", acquire_body("NTLM", SECPKG_CRED_INBOUND, principal=target))
        report["client_credentials"] = ccred.get("name", "")
        isc = ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT
        asc = ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY
        legs = []

        def leg(conn, op, body):
            r = conn.call(op, body)
            legs.append({"op": op, "status": r.get("status", SEC_E_OK), "token": r.get("token", b"")[:8].hex()})
            return r

        # Both contexts stay in the LSA (no can_map): this client runs no
        # package's user-mode half, so its messages go through the LSA.
        c1 = leg(client, "InitializeContext", initialize_body(credential=ccred["handle"], target=target, flags=isc))
        s1 = leg(server, "AcceptContext", accept_body(credential=scred["handle"], flags=asc, token=c1["token"]))
        c2 = leg(client, "InitializeContext", initialize_body(context=c1["context"], target=target, flags=isc, token=s1["token"]))
        try:
            s2 = leg(server, "AcceptContext", accept_body(context=s1["context"], flags=asc, token=c2["token"]))
        except LSAError as e:
            report.update(legs=legs, failed=e.op, status=e.status, msg=e.msg)
            return report
        report["legs"] = legs
        ident = s2.get("attributes", {}).get("identity", {})
        report["identity"] = {k: ident.get(k) for k in ("user", "domain", "package")}
        report["client_flags"], report["server_flags"] = c2.get("flags", 0), s2.get("flags", 0)
        report["mapped"] = "packed" in c2 or "packed" in s2

        # Seal with the client's context, unseal with the server's; sign
        # with the server's, verify with the client's, then a changed
        # message must fail.
        msg = b"a message from python"
        sealed = client.call("ProtectMessage", message_body(
            c1["context"], OP_ENCRYPT, [buffer(SECBUFFER_TOKEN, bytes(16)), buffer(SECBUFFER_DATA, msg)]))["buffers"]
        opened = server.call("ProtectMessage", message_body(s1["context"], OP_DECRYPT, sealed))["buffers"]
        report["sealed_differs"] = sealed[1]["data"] != msg
        report["unsealed"] = opened[1]["data"] == msg
        signed = server.call("ProtectMessage", message_body(
            s1["context"], OP_MAKE_SIGNATURE, [buffer(SECBUFFER_DATA, msg), buffer(SECBUFFER_TOKEN, bytes(16))]))["buffers"]
        client.call("ProtectMessage", message_body(c1["context"], OP_VERIFY_SIGNATURE, signed))
        report["verified"] = True
        signed2 = server.call("ProtectMessage", message_body(
            s1["context"], OP_MAKE_SIGNATURE, [buffer(SECBUFFER_DATA, msg), buffer(SECBUFFER_TOKEN, bytes(16))]))["buffers"]
        signed2[0]["data"] = b"A" + signed2[0]["data"][1:]
        try:
            client.call("ProtectMessage", message_body(c1["context"], OP_VERIFY_SIGNATURE, signed2))
            report["altered_status"] = 0
        except LSAError as e:
            report["altered_status"] = e.status

        # Clean up: deletes want no reply; the frees are answered after
        # them, in order.
        client.send("DeleteContext", handle_body(c1["context"]))
        server.send("DeleteContext", handle_body(s1["context"]))
        client.call("FreeCredentials", handle_body(ccred["handle"]))
        server.call("FreeCredentials", handle_body(scred["handle"]))
        report["ok"] = True
        return report
    finally:
        client.close()
        server.close()


def golden(directory):
    """Builds the requests of the golden frames with this client's own
    functions and compares the bytes; decodes every golden reply."""
    def h(i):
        return {"epoch": 0x1122334455667788, "id": i}
    token = b"NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2"
    binds = bindings(2, b"\x7f\x00\x00\x01", 2, b"\x7f\x00\x00\x02", b"tls-server-end-point:0123456789abcdef")
    ours = {
        "hello.request": request_frame(0, "Hello", hello_body("example-client")),
        "EnumeratePackages.request": request_frame(1, "EnumeratePackages"),
        "AcquireCredentials.request": request_frame(2, "AcquireCredentials", acquire_body(
            "NTLM", SECPKG_CRED_OUTBOUND, principal="alice", logon_id=0x3e7,
            ident=identity("alice", "EXAMPLE", b"example-password"))),
        "QueryCredentials.request": request_frame(3, "QueryCredentials", handle_body(h(1))),
        "FreeCredentials.request": request_frame(4, "FreeCredentials", handle_body(h(1))),
        "InitializeContext.request": request_frame(5, "InitializeContext", initialize_body(
            credential=h(1), context=h(3), target="HOST/server.example.com",
            flags=ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_MESSAGES,
            data_rep=SECURITY_NATIVE_DREP, token=token, binds=binds, can_map=True)),
        "AcceptContext.request": request_frame(6, "AcceptContext", accept_body(
            credential=h(2), context=h(4), flags=ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_MESSAGES,
            data_rep=SECURITY_NATIVE_DREP, token=token, binds=binds, can_map=True)),
        "DeleteContext.request": request_frame(7, "DeleteContext", handle_body(h(3))),
        "DeleteContext.noreply.request": request_frame(24, "DeleteContext", handle_body(h(3)), noreply=True),
        "ProtectMessage.request": request_frame(10, "ProtectMessage", message_body(
            h(3), OP_ENCRYPT, [buffer(SECBUFFER_DATA, b"hello"), buffer(SECBUFFER_TOKEN, bytes(16))], seq=7)),
    }
    checked = 0
    for name, frame in sorted(ours.items()):
        want = read_golden(os.path.join(directory, name + ".hex"))
        if frame != want:
            raise SystemExit("golden %s: ours %s\n want %s" % (name, frame.hex(), want.hex()))
        checked += 1
    replies = 0
    for f in sorted(os.listdir(directory)):
        if f.endswith(".reply.hex"):
            b = read_golden(os.path.join(directory, f))
            if struct.unpack(">I", b[:4])[0] != len(b) - 4:
                raise SystemExit("golden %s: bad length" % f)
            reply = cbor().loads(b[4:])
            if not isinstance(reply.get("id"), int) or ("err" in reply and "status" not in reply["err"]):
                raise SystemExit("golden %s: decodes to %r" % (f, reply))
            replies += 1
    return checked, replies


def read_golden(path):
    with open(path) as f:
        return bytes.fromhex("".join(l.strip() for l in f if not l.startswith("#")))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["check", "packages", "handshake", "golden"])
    p.add_argument("path", nargs="?")
    p.add_argument("--user", default="alice")
    p.add_argument("--domain", default="EXAMPLE")
    p.add_argument("--password-env", default="LSA_CLIENT_PASSWORD")
    p.add_argument("--target", default="HOST/server.example.com")
    args = p.parse_args()
    if args.mode == "check":
        cbor()
        print("ok")
    elif args.mode == "packages":
        c = Connection(args.path)
        pkgs = c.call("EnumeratePackages").get("packages", [])
        c.close()
        print(json.dumps(pkgs))
    elif args.mode == "handshake":
        args.socket = args.path
        print(json.dumps(handshake(args)))
    elif args.mode == "golden":
        checked, replies = golden(args.path)
        print("ok %d requests %d replies" % (checked, replies))


if __name__ == "__main__":
    main()
