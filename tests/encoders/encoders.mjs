// An MCP-style stdio server that writes the values of its MWENC_* variables
// back in every spelling Node's standard library produces: JSON.stringify
// (also JSON inside a JSON string), Buffer base64 / base64url / hex,
// encodeURIComponent, encodeURI, URLSearchParams (form encoding) and
// querystring.escape. One response per request line with an "id"; each
// spelling also on stderr, as plain text and as a JSON log line. Used by
// tests/encoders.rs.
import { createInterface } from "node:readline";
import querystring from "node:querystring";

const values = () =>
  Object.keys(process.env)
    .filter((k) => k.startsWith("MWENC_"))
    .sort()
    .map((k) => process.env[k]);

const spellings = (v) => {
  const b = Buffer.from(v, "utf8");
  return {
    raw: v,
    b64: b.toString("base64"),
    b64url: b.toString("base64url"),
    hex: b.toString("hex"),
    uriComponent: encodeURIComponent(v),
    uri: encodeURI(`https://api.example/x?token=${v}`),
    form: new URLSearchParams({ token: v, a: "b" }).toString(),
    qs: querystring.escape(v),
  };
};

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  if (!("id" in msg)) return;
  const docs = values().map(spellings);
  const texts = [JSON.stringify(docs), JSON.stringify({ inner: JSON.stringify(docs) })];
  const result = { content: texts.map((text) => ({ type: "text", text })) };
  process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result }) + "\n");
  for (const d of docs) {
    for (const [k, s] of Object.entries(d)) process.stderr.write(`${k}: ${s}\n`);
    process.stderr.write(JSON.stringify({ level: "info", doc: d }) + "\n");
  }
});
