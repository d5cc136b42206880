// An HTTPS API that wants a bearer token, for tests/secretless.rs: what an
// MCP server calls with the credential mcp-warden holds back from it. Node
// core modules only (runs with the system node 20 or MCP_WARDEN_TEST_NODE22).
//
// Usage:
//   node egress_api.mjs --tls-dir DIR --log FILE [--host IP]
//   env EGRESS_API_TOKEN: the real token (never in argv)
//
// - Serves HTTP/2 and HTTP/1.1 (ALPN) with DIR/server.pem and
//   DIR/server-key.pem (tests/standins/pki.py) on --host (default 127.0.0.1),
//   an ephemeral port; prints one line {"port":N} on stdout once listening.
// - The token is read from `Authorization: Bearer T` or the query `?token=T`.
// - --log gets one JSON line per request: method, path (without the query),
//   protocol ("h2" or "http/1.1"), token: "real" | "other" | "none" (what it
//   got, classified; never the value), token_in ("header", "query" or null),
//   and for /upload bytes and token_in_body, for /ws ws: true.
//
// Endpoints:
//   GET  /whoami          200 {"ok":true,"protocol":P} with the real token, else 401
//   GET  /echo            200 {"token":T,"protocol":P} and header x-echo-token: T, T being
//                         the token as received (a server that echoes its credential)
//   POST /upload          reads the streamed body; {"bytes":N,"sha256":HEX,"token_in_body":B}
//                         (B: the real token occurs in the body)
//   GET  /download?bytes=N  streams N bytes ("a")
//   GET  /ws              HTTP/1.1 WebSocket (needs the real token): echoes text and
//                         binary frames, answers pings and close
import crypto from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    'tls-dir': { type: 'string' },
    log: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
if (!opts['tls-dir'] || !opts.log) {
  console.error('usage: egress_api.mjs --tls-dir DIR --log FILE [--host IP]');
  process.exit(2);
}
const token = process.env.EGRESS_API_TOKEN;
if (!token) {
  console.error('EGRESS_API_TOKEN is not set');
  process.exit(2);
}
const tokenBuf = Buffer.from(token);
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function log(entry) {
  fs.appendFileSync(opts.log, `${JSON.stringify(entry)}\n`);
}

/** What the request carried: {value, where} (value null when nothing). */
function received(req, url) {
  const auth = req.headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer (.*)$/.exec(auth) : null;
  const q = url.searchParams.get('token');
  if (m && m[1] === token) return { value: m[1], where: 'header' };
  if (q === token) return { value: q, where: 'query' };
  if (m) return { value: m[1], where: 'header' };
  if (q !== null) return { value: q, where: 'query' };
  return { value: null, where: null };
}

function classify(got) {
  if (got.value === null) return 'none';
  return got.value === token ? 'real' : 'other';
}

function protocolOf(req) {
  return req.httpVersion === '2.0' ? 'h2' : 'http/1.1';
}

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/** Streams the body; counts, hashes and looks for the real token across chunk edges. */
function upload(req, res, entry) {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  let found = false;
  let carry = Buffer.alloc(0);
  req.on('data', (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
    if (!found) {
      const window = Buffer.concat([carry, chunk]);
      found = window.includes(tokenBuf);
      carry = window.subarray(Math.max(0, window.length - (tokenBuf.length - 1)));
    }
  });
  req.on('end', () => {
    const answer = { bytes, sha256: hash.digest('hex'), token_in_body: found };
    log({ ...entry, bytes, token_in_body: found });
    sendJson(res, 200, answer);
  });
  req.on('error', () => log({ ...entry, error: 'body aborted' }));
}

/** N bytes of "a", respecting back-pressure. */
function download(res, n) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
  let left = n;
  const pump = () => {
    while (left > 0) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function handle(req, res) {
  const url = new URL(req.url, 'https://api.invalid');
  const got = received(req, url);
  const protocol = protocolOf(req);
  const entry = {
    method: req.method,
    path: url.pathname,
    protocol,
    token: classify(got),
    token_in: got.where,
  };
  if (req.method === 'POST' && url.pathname === '/upload') {
    upload(req, res, entry);
    return;
  }
  req.resume();
  log(entry);
  if (req.method !== 'GET') {
    sendJson(res, 405, { ok: false });
  } else if (url.pathname === '/whoami') {
    if (entry.token === 'real') sendJson(res, 200, { ok: true, protocol });
    else sendJson(res, 401, { ok: false, error: 'bad or missing token' });
  } else if (url.pathname === '/echo') {
    const t = got.value ?? '';
    sendJson(res, 200, { token: t, protocol }, { 'x-echo-token': t });
  } else if (url.pathname === '/download') {
    download(res, Math.max(0, Number(url.searchParams.get('bytes') ?? 0) | 0));
  } else {
    sendJson(res, 404, { ok: false });
  }
}

// --- WebSocket (RFC 6455), the few frames the tests send ----------------------

function frame(opcode, payload) {
  const n = payload.length;
  let head;
  if (n < 126) {
    head = Buffer.from([0x80 | opcode, n]);
  } else if (n < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** One frame from the front of buf: {opcode, payload, used}, or null if incomplete. */
function parseFrame(buf) {
  if (buf.length < 2) return null;
  const opcode = buf[0] & 0x0f;
  const masked = (buf[1] & 0x80) !== 0;
  let len = buf[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const mask = masked ? buf.subarray(at, at + 4) : null;
  if (masked) at += 4;
  if (buf.length < at + len) return null;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
  return { opcode, payload, used: at + len };
}

function websocket(socket, head) {
  let buf = Buffer.from(head ?? []);
  const drain = () => {
    for (;;) {
      const f = parseFrame(buf);
      if (!f) return;
      buf = buf.subarray(f.used);
      if (f.opcode === 1 || f.opcode === 2) socket.write(frame(f.opcode, f.payload));
      else if (f.opcode === 9) socket.write(frame(10, f.payload));
      else if (f.opcode === 8) {
        socket.end(frame(8, f.payload));
        return;
      }
    }
  };
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    drain();
  });
  socket.on('error', () => {});
  drain();
}

function upgrade(req, socket, head) {
  const url = new URL(req.url, 'https://api.invalid');
  const got = received(req, url);
  const entry = {
    method: req.method,
    path: url.pathname,
    protocol: 'http/1.1',
    token: classify(got),
    token_in: got.where,
    ws: true,
  };
  log(entry);
  socket.on('error', () => {});
  const key = req.headers['sec-websocket-key'];
  const isWs = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
  if (url.pathname !== '/ws' || !isWs || !key) {
    socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    return;
  }
  if (entry.token !== 'real') {
    socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    return;
  }
  const accept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  websocket(socket, head);
}

const dir = opts['tls-dir'];
const server = http2.createSecureServer(
  {
    allowHTTP1: true,
    key: fs.readFileSync(path.join(dir, 'server-key.pem')),
    cert: fs.readFileSync(path.join(dir, 'server.pem')),
  },
  handle,
);
server.on('upgrade', upgrade);
// A client that gives up mid-handshake (a proxy's probe, a refused CA) is not our failure.
server.on('tlsClientError', () => {});
server.on('sessionError', () => {});
server.listen(0, opts.host, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
