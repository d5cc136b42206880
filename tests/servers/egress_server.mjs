// An MCP stdio server that calls an HTTPS API with a token from its
// environment, for tests/secretless.rs: the official TypeScript SDK
// (McpServer + StdioServerTransport) and Node's global fetch, as a real
// TypeScript MCP server would be written. The same tools as
// tests/servers/egress_server.py.
//
// Run it with Node >= 24 (MCP_WARDEN_TEST_NODE22): its fetch and WebSocket
// go through HTTPS_PROXY when NODE_USE_ENV_PROXY=1, and trust
// NODE_EXTRA_CA_CERTS.
//
// The token is the variable named by EGRESS_TOKEN_VAR (default API_TOKEN).
// Every tool answers one JSON text:
// - call(url, where="header"|"query"|"none", http2=false): GET url with the token;
//   {"status", "http_version": null (fetch does not say), "body", "x_echo_token"}
//   or {"status": null, "error"}. http2 is accepted and ignored (fetch speaks HTTP/1.1).
// - upload(url, megabytes, token_in_body=false): POST a streamed random body of
//   exactly `megabytes` MiB (token in the header; with token_in_body also
//   `token=<token>\n` at the start of the body);
//   {"sent_bytes", "sent_sha256", "status", "http_version", "answer"}.
// - env(dump=""): {"var", "value", "length", "environ_has_value", "pid", "proxy",
//   "ca_file_exists"}; with dump, writes /proc/self/environ to that path.
// - ws(url, message="hello"): a WebSocket round trip with the global WebSocket
//   (Authorization on the upgrade); {"status", "accept_ok", "echo"} or {"status": null, "error"}.
// On stderr it logs only the token's first four characters.
import crypto from 'node:crypto';
import fs from 'node:fs';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const VAR = process.env.EGRESS_TOKEN_VAR || 'API_TOKEN';
const CA_VARS = ['SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'];
const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy',
  'NO_PROXY', 'no_proxy', 'NODE_USE_ENV_PROXY'];
const MIB = 1 << 20;

const token = () => process.env[VAR] ?? '';
const answer = (d) => ({ content: [{ type: 'text', text: JSON.stringify(d) }] });
const failure = (e) => {
  const cause = e?.cause ? ` (${e.cause.code ?? ''} ${e.cause.message ?? e.cause})` : '';
  return answer({ status: null, error: `${e?.name ?? 'Error'}: ${e?.message ?? e}${cause}` });
};

async function call({ url, where = 'header' }) {
  const u = new URL(url);
  const headers = {};
  if (where === 'header') headers.authorization = `Bearer ${token()}`;
  else if (where === 'query') u.searchParams.set('token', token());
  try {
    const r = await fetch(u, { headers, signal: AbortSignal.timeout(30000) });
    const body = await r.text();
    return answer({ status: r.status, http_version: null, body, x_echo_token: r.headers.get('x-echo-token') });
  } catch (e) {
    return failure(e);
  }
}

async function upload({ url, megabytes, token_in_body: inBody = false }) {
  const total = megabytes * MIB;
  const digest = crypto.createHash('sha256');
  let sent = 0;
  const head = inBody ? Buffer.from(`token=${token()}\n`) : Buffer.alloc(0);
  const body = new ReadableStream({
    pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      const n = Math.min(MIB, total - sent);
      let chunk = crypto.randomBytes(n);
      if (sent === 0) chunk = Buffer.concat([head, chunk]).subarray(0, n);
      digest.update(chunk);
      sent += chunk.length;
      controller.enqueue(new Uint8Array(chunk));
    },
  });
  try {
    const r = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
      signal: AbortSignal.timeout(120000),
    });
    const text = await r.text();
    let api;
    try {
      api = JSON.parse(text);
    } catch {
      api = text;
    }
    return answer({ sent_bytes: sent, sent_sha256: digest.digest('hex'), status: r.status, http_version: null, answer: api });
  } catch (e) {
    return failure(e);
  }
}

function env({ dump = '' }) {
  const value = token();
  const environ = fs.readFileSync('/proc/self/environ');
  if (dump) fs.writeFileSync(dump, environ);
  const ca = process.env.SSL_CERT_FILE;
  const proxy = Object.fromEntries([...PROXY_VARS, ...CA_VARS].map((k) => [k, process.env[k] ?? null]));
  return answer({
    var: VAR,
    value,
    length: value.length,
    environ_has_value: value !== '' && environ.includes(Buffer.from(value)),
    pid: process.pid,
    proxy,
    ca_file_exists: Boolean(ca) && fs.existsSync(ca),
  });
}

function ws({ url, message = 'hello' }) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (d) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(answer(d));
    };
    const timer = setTimeout(() => finish({ status: null, error: 'timeout' }), 15000);
    let sock;
    try {
      // undici's WebSocket takes headers as a (non-standard) option.
      sock = new WebSocket(url, { headers: { authorization: `Bearer ${token()}` } });
    } catch (e) {
      finish({ status: null, error: `${e.name}: ${e.message}` });
      return;
    }
    sock.onopen = () => sock.send(message);
    sock.onmessage = (ev) => {
      sock.close();
      finish({ status: 101, accept_ok: true, echo: String(ev.data) });
    };
    sock.onerror = (ev) => finish({ status: null, error: `WebSocket error: ${ev?.message ?? ev?.error?.message ?? 'failed'}` });
  });
}

const server = new McpServer({ name: 'egress-ts', version: '1.0.0' });
server.registerTool('call', {
  description: 'GET url with the token in a header or the query',
  inputSchema: { url: z.string(), where: z.string().optional(), http2: z.boolean().optional() },
}, call);
server.registerTool('upload', {
  description: 'POST a streamed body of `megabytes` MiB',
  inputSchema: { url: z.string(), megabytes: z.number().int(), token_in_body: z.boolean().optional() },
}, upload);
server.registerTool('env', {
  description: 'The token variable and the proxy settings as this server sees them',
  inputSchema: { dump: z.string().optional() },
}, env);
server.registerTool('ws', {
  description: 'A WebSocket round trip to a wss:// url',
  inputSchema: { url: z.string(), message: z.string().optional() },
}, ws);

process.stderr.write(`egress-ts: ${VAR} starts with '${token().slice(0, 4)}'\n`);
await server.connect(new StdioServerTransport());
