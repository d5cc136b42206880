// A real MCP server that requires OAuth, for tests/oauth.rs: the official
// TypeScript SDK (@modelcontextprotocol/sdk, pinned in package.json) over
// Streamable HTTP on 127.0.0.1, protected by the SDK's bearer-auth middleware
// (`requireBearerAuth`) and serving the SDK's protected resource metadata
// (`mcpAuthMetadataRouter`, RFC 9728) that names oidc_provider.mjs.
//
// Usage (run with Node >= 22: MCP_WARDEN_TEST_NODE22):
//   node oauth_mcp.mjs --port P --issuer URL [--step-up-tool NAME]
//                      [--step-up-scope SCOPE] [--log FILE]
//   env OIDC_RS_SECRET: the secret of the provider's `mcp-server` client,
//   with which every token is introspected (RFC 7662); never in argv.
//
// - The server's URL is http://127.0.0.1:P/mcp; a token is accepted when the
//   provider says it is active, its audience is that URL (RFC 8707) and it
//   carries `mcp:tools`. Otherwise 401 (no or bad token) or 403, with
//   `WWW-Authenticate: Bearer ... scope="mcp:tools", resource_metadata=...`.
// - Step-up: a `tools/call` of --step-up-tool (default `admin_op`) needs
//   --step-up-scope (default `mcp:admin`) too; without it the answer is 403
//   `error="insufficient_scope"` naming both scopes, as the MCP spec asks.
// - Tools: `echo` (text), `whoami` (the client id and scopes of the token;
//   never the token), `admin_op` (says it ran).
// - --log appends one JSON line per HTTP request: method, path, JSON-RPC
//   method and tool, status, and the token's client id and scopes (never a
//   token).
import fs from 'node:fs';
import { parseArgs } from 'node:util';

import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import {
  getOAuthProtectedResourceMetadataUrl,
  mcpAuthMetadataRouter,
} from '@modelcontextprotocol/sdk/server/auth/router.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { z } from 'zod';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string' },
    issuer: { type: 'string' },
    'step-up-tool': { type: 'string', default: 'admin_op' },
    'step-up-scope': { type: 'string', default: 'mcp:admin' },
    log: { type: 'string' },
  },
});
if (!opts.port || !opts.issuer) {
  console.error('usage: oauth_mcp.mjs --port P --issuer URL [--step-up-tool T] [--step-up-scope S] [--log F]');
  process.exit(2);
}
const rsSecret = process.env.OIDC_RS_SECRET;
if (!rsSecret) {
  console.error('OIDC_RS_SECRET is not set');
  process.exit(2);
}
const baseScope = 'mcp:tools';
const mcpUrl = new URL(`http://127.0.0.1:${opts.port}/mcp`);
const metadataUrl = getOAuthProtectedResourceMetadataUrl(mcpUrl);

function log(entry) {
  if (opts.log) fs.appendFileSync(opts.log, `${JSON.stringify(entry)}\n`);
}

/** The provider's metadata, read once (the provider may still be starting). */
async function providerMetadata() {
  const url = `${opts.issuer}/.well-known/openid-configuration`;
  for (let i = 0; i < 100; i += 1) {
    try {
      const res = await fetch(url);
      if (res.ok) return await res.json();
    } catch {
      // not listening yet
    }
    await new Promise((r) => { setTimeout(r, 100); });
  }
  throw new Error(`no metadata at ${url}`);
}

/** RFC 7662 introspection at the provider, as the SDK's OAuthTokenVerifier. */
function introspectingVerifier(endpoint) {
  const basic = Buffer.from(`mcp-server:${rsSecret}`).toString('base64');
  return {
    async verifyAccessToken(token) {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(10_000),
      });
      const info = res.ok ? await res.json() : { active: false };
      if (!info.active || info.token_type === undefined) {
        throw new InvalidTokenError('Token is not active');
      }
      const aud = Array.isArray(info.aud) ? info.aud[0] : info.aud;
      return {
        token,
        clientId: info.client_id,
        scopes: (info.scope ?? '').split(' ').filter(Boolean),
        expiresAt: info.exp,
        resource: aud ? new URL(aud) : undefined,
      };
    },
  };
}

/** 403 insufficient_scope for the step-up tool without its scope. */
function stepUp(req, res, next) {
  const body = req.body;
  const needs = opts['step-up-scope'];
  const calls = (Array.isArray(body) ? body : [body]).filter(
    (m) => m?.method === 'tools/call' && m?.params?.name === opts['step-up-tool'],
  );
  if (calls.length === 0 || req.auth.scopes.includes(needs)) return next();
  res.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${baseScope} ${needs}", `
    + `resource_metadata="${metadataUrl}", error_description="${opts['step-up-tool']} needs ${needs}"`);
  return res.status(403).json({ error: 'insufficient_scope', error_description: `needs ${needs}` });
}

function mcpServer(auth) {
  const server = new McpServer({ name: 'oauth-mcp', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echoes text', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  server.registerTool('whoami', { description: 'The client and scopes of the token' },
    async () => ({ content: [{ type: 'text', text: `client=${auth.clientId} scopes=${auth.scopes.join(' ')}` }] }));
  server.registerTool(opts['step-up-tool'], { description: `Needs ${opts['step-up-scope']}` },
    async () => ({ content: [{ type: 'text', text: 'admin ok' }] }));
  return server;
}

const metadata = await providerMetadata();
const app = createMcpExpressApp();
app.use((req, res, next) => {
  res.on('finish', () => log({
    method: req.method,
    path: req.path,
    rpc: req.body?.method,
    tool: req.body?.params?.name,
    status: res.statusCode,
    client_id: req.auth?.clientId,
    scopes: req.auth?.scopes,
  }));
  next();
});
app.use(mcpAuthMetadataRouter({
  oauthMetadata: metadata,
  resourceServerUrl: mcpUrl,
  scopesSupported: [baseScope],
  resourceName: 'mcp-warden OAuth test server',
}));
const bearer = requireBearerAuth({
  verifier: introspectingVerifier(metadata.introspection_endpoint),
  requiredScopes: [baseScope],
  resourceMetadataUrl: metadataUrl,
  expectedResource: mcpUrl,
});
app.all('/mcp', bearer, stepUp, async (req, res) => {
  // Stateless: one server and transport per request.
  const server = mcpServer(req.auth);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});

app.listen(Number(opts.port), '127.0.0.1', () => {
  console.error(`oauth MCP server ${mcpUrl} (issuer ${opts.issuer})`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
