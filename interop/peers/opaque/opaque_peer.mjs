// opaque_peer.mjs drives @serenity-kit/opaque (the opaque-ke crate, an
// independent RFC 9807 implementation: OPAQUE-3DH, ristretto255-SHA512,
// Argon2id with a zero 16-byte salt and a 64-byte output, an empty
// context) for interop/opaque_test.go.
//
// Protocol: one JSON request per line on stdin, {"op": "client.startLogin",
// "params": {...}}, where op names a function of the library's client or
// server namespace and params is its argument (server.createSetup takes
// none, server.getPublicKey takes params.setup). Each answer is one line:
// "RESULT <json>" with the function's result, or "FAIL <message>".
// Messages, states and keys are the library's base64url strings. The
// first line is "READY" once the WebAssembly module is loaded.
import * as readline from "node:readline";
import * as opaque from "@serenity-kit/opaque";

await opaque.ready;
process.stdout.write("READY\n");

const rl = readline.createInterface({ input: process.stdin, terminal: false });
for await (const line of rl) {
  let out;
  try {
    const req = JSON.parse(line);
    const [ns, fn] = String(req.op).split(".");
    if ((ns !== "client" && ns !== "server") || typeof opaque[ns][fn] !== "function") {
      throw new Error(`unknown op ${req.op}`);
    }
    let result;
    if (req.op === "server.createSetup") {
      result = opaque.server.createSetup();
    } else if (req.op === "server.getPublicKey") {
      result = opaque.server.getPublicKey(req.params.setup);
    } else {
      result = opaque[ns][fn](req.params);
    }
    // client.finishLogin answers undefined when the server is not
    // authenticated (a wrong password, another record, an impostor).
    out = result === undefined ? "FAIL login failed" : "RESULT " + JSON.stringify(result);
  } catch (e) {
    out = "FAIL " + String(e && e.message ? e.message : e).replace(/\s+/g, " ");
  }
  process.stdout.write(out + "\n");
}
