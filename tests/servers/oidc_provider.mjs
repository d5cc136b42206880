// The authorization server of tests/oauth.rs: the OpenID Certified
// `oidc-provider` (npm, pinned in package.json) on 127.0.0.1, configured the
// way the MCP authorization spec expects an authorization server to be.
//
// Usage (run with Node >= 22: MCP_WARDEN_TEST_NODE22):
//   node oidc_provider.mjs --port P --resource URL [--access-ttl S]
//                          [--tamper iss|no-iss|state]
//   env OIDC_RS_SECRET: the secret of the resource server's own client
//   (`mcp-server`, used for introspection); never in argv.
//
// - Dynamic client registration (RFC 7591, open), native apps with loopback
//   redirects on any port (RFC 8252, oidc-provider's native-client rule);
//   PKCE S256 required for every authorization code; resource indicators
//   (RFC 8707): the one resource is --resource (the MCP server URL), its
//   tokens are opaque, audience = that URL, scopes `mcp:tools mcp:admin`,
//   lifetime --access-ttl seconds; refresh tokens issued to every client
//   registered for the refresh_token grant, rotated on every use (a reused
//   one revokes the grant); client credentials; revocation (RFC 7009);
//   introspection (RFC 7662); the RFC 9207 `iss` authorization response
//   parameter; the dev interaction pages (login form, consent button).
// - Pre-registered clients: `native-public` (a public native app with the
//   loopback redirect http://127.0.0.1/callback on any port), and for the
//   client-credentials tests
//   `cc-secret-basic` and `cc-secret-post` (one secret), `cc-jwt-rsa` (private_key_jwt, RS256) and
//   `cc-jwt-ec` (private_key_jwt, ES256); their secret and private keys are
//   made at start and reported by the test endpoint.
// - GET /__test/state (loopback peers only): counts of what happened at the
//   token, authorization, registration, revocation and introspection
//   endpoints, and every credential this provider issued (access, refresh
//   and registration access tokens, client secrets, authorization codes), so
//   a test can look for each in the files and output of the client.
//   POST /__test/access-ttl {"seconds": N}: the lifetime of access tokens
//   issued from then on. POST /__test/forget-access-tokens: every access
//   token issued so far becomes unknown (inactive), refresh tokens stay.
// - --tamper starts the fixture of tamper_proxy.mjs in front of the provider
//   on --port (the provider then listens on another loopback port): it
//   rewrites the authorization response the browser is redirected with.
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

import { startTamperProxy } from './tamper_proxy.mjs';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string' },
    resource: { type: 'string' },
    'access-ttl': { type: 'string', default: '3600' },
    tamper: { type: 'string' },
  },
});
if (!opts.port || !opts.resource) {
  console.error('usage: oidc_provider.mjs --port P --resource URL [--access-ttl S] [--tamper MODE]');
  process.exit(2);
}
const rsSecret = process.env.OIDC_RS_SECRET;
if (!rsSecret) {
  console.error('OIDC_RS_SECRET is not set');
  process.exit(2);
}
const publicPort = Number(opts.port);
let accessTtl = Number(opts['access-ttl']);
const issuer = `http://127.0.0.1:${publicPort}`;
const resource = opts.resource;
const resourceScopes = 'mcp:tools mcp:admin';

// --- what the test endpoint reports -----------------------------------------
const counts = {
  authorizations: 0, // authorization responses with a code
  registrations: 0,
  token_requests: {}, // grant_type -> requests
  token_success: {}, // grant_type -> 2xx answers
  token_errors: {}, // grant_type -> error codes seen
  revocations: 0,
  introspections: 0,
  grants_revoked: 0,
};
const issued = []; // { kind, value } of every credential this provider handed out
const offlineAccessRequested = [];

// --- storage: oidc-provider's adapter interface over Maps, recording issues --
const recorded = new Set(['AccessToken', 'RefreshToken', 'ClientCredentials',
  'RegistrationAccessToken', 'AuthorizationCode']);
const stores = new Map();
class RecordingMemoryAdapter {
  constructor(name) {
    this.name = name;
    if (!stores.has(name)) stores.set(name, new Map());
    this.items = stores.get(name);
  }

  async upsert(id, payload, expiresIn) {
    if (recorded.has(this.name) && !this.items.has(id)) issued.push({ kind: this.name, value: id });
    if (this.name === 'Client' && payload.client_secret && !this.items.has(id)) {
      issued.push({ kind: 'ClientSecret', value: payload.client_secret });
    }
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : undefined;
    this.items.set(id, { payload: { ...payload }, expiresAt });
  }

  async find(id) {
    const item = this.items.get(id);
    if (!item) return undefined;
    if (item.expiresAt && item.expiresAt < Date.now()) {
      this.items.delete(id);
      return undefined;
    }
    return { ...item.payload };
  }

  async findByUid(uid) {
    for (const [id, item] of this.items) {
      if (item.payload.uid === uid) return this.find(id);
    }
    return undefined;
  }

  async findByUserCode(userCode) {
    for (const [id, item] of this.items) {
      if (item.payload.userCode === userCode) return this.find(id);
    }
    return undefined;
  }

  async consume(id) {
    const item = this.items.get(id);
    if (item) item.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    this.items.delete(id);
  }

  async revokeByGrantId(grantId) {
    for (const [id, item] of this.items) {
      if (item.payload.grantId === grantId) this.items.delete(id);
    }
  }
}

// --- clients the tests know in advance ---------------------------------------
function keyPair(type) {
  const { privateKey, publicKey } = type === 'rsa'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    jwk: publicKey.export({ format: 'jwk' }),
  };
}
const rsa = keyPair('rsa');
const ec = keyPair('ec');
const ccSecret = crypto.randomBytes(32).toString('base64url');
issued.push({ kind: 'ClientSecret', value: ccSecret });
const noRedirects = { grant_types: [], response_types: [], redirect_uris: [] };
const clients = [
  // The MCP server's own client: it introspects the tokens it is sent.
  {
    client_id: 'mcp-server',
    client_secret: rsSecret,
    ...noRedirects,
    token_endpoint_auth_method: 'client_secret_basic',
  },
  ...['basic', 'post'].map((how) => ({
    client_id: `cc-secret-${how}`,
    client_secret: ccSecret,
    ...noRedirects,
    grant_types: ['client_credentials'],
    scope: resourceScopes,
    token_endpoint_auth_method: `client_secret_${how}`,
  })),
  // A public native client registered by hand, without a scope limit:
  // loopback redirect on any port (RFC 8252), path /callback (the one
  // mcp-warden's loopback listener answers).
  {
    client_id: 'native-public',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  },
  {
    client_id: 'cc-jwt-rsa',
    ...noRedirects,
    grant_types: ['client_credentials'],
    scope: resourceScopes,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [{ ...rsa.jwk, use: 'sig', alg: 'RS256' }] },
  },
  {
    client_id: 'cc-jwt-ec',
    ...noRedirects,
    grant_types: ['client_credentials'],
    scope: resourceScopes,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [{ ...ec.jwk, use: 'sig', alg: 'ES256' }] },
  },
];

// --- the provider ------------------------------------------------------------
const configuration = {
  adapter: RecordingMemoryAdapter,
  clients,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'mcp:tools', 'mcp:admin'],
  clientDefaults: {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    application_type: 'native',
  },
  pkce: { required: () => true },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A request without `resource` gets no audience: the MCP server refuses
      // such a token, so a client that forgets RFC 8707 is noticed.
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== resource) throw new Provider.errors.InvalidTarget();
        return {
          scope: resourceScopes,
          audience: resource,
          accessTokenTTL: accessTtl,
          accessTokenFormat: 'opaque',
        };
      },
    },
  },
  // Refresh tokens for every client registered for the grant (with or without
  // offline_access), rotated on every redemption.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: () => accessTtl,
    ClientCredentials: () => accessTtl,
    RefreshToken: 14 * 24 * 3600,
    AuthorizationCode: 60,
    Grant: 14 * 24 * 3600,
    Interaction: 600,
    Session: 3600,
    IdToken: 3600,
  },
};

const provider = new Provider(issuer, configuration);
provider.on('authorization.success', (ctx) => {
  counts.authorizations += 1;
  const scope = ctx.oidc?.params?.scope ?? '';
  offlineAccessRequested.push(scope.split(' ').includes('offline_access'));
});
provider.on('registration_create.success', () => { counts.registrations += 1; });
provider.on('grant.revoked', () => { counts.grants_revoked += 1; });

function bump(map, key) {
  map[key] = (map[key] ?? 0) + 1;
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 4096) break;
  }
  return JSON.parse(text || '{}');
}

// The test endpoint, and what each token/revocation/introspection request did.
provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/__test/')) {
    const peer = ctx.req.socket.remoteAddress ?? '';
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(peer)) {
      ctx.status = 403;
      return;
    }
  }
  if (ctx.path === '/__test/access-ttl' && ctx.method === 'POST') {
    const { seconds } = await readJson(ctx.req);
    if (!Number.isInteger(seconds) || seconds < 1) ctx.throw(400, 'seconds: a positive integer');
    accessTtl = seconds;
    ctx.body = { access_ttl: accessTtl };
    return;
  }
  if (ctx.path === '/__test/forget-access-tokens' && ctx.method === 'POST') {
    const tokens = stores.get('AccessToken');
    const forgotten = tokens ? tokens.size : 0;
    tokens?.clear();
    ctx.body = { forgotten };
    return;
  }
  if (ctx.path === '/__test/state' && ctx.method === 'GET') {
    ctx.body = {
      issuer,
      resource,
      counts,
      offline_access_requested: offlineAccessRequested,
      issued,
      clients: { cc_secret: ccSecret, rsa_pem: rsa.pem, ec_pem: ec.pem },
    };
    return;
  }
  await next();
  const route = ctx.oidc?.route;
  if (route === 'token') {
    const grant = ctx.oidc.params?.grant_type ?? 'none';
    bump(counts.token_requests, grant);
    if (ctx.status >= 200 && ctx.status < 300) bump(counts.token_success, grant);
    else bump(counts.token_errors, `${grant}:${ctx.body?.error ?? ctx.status}`);
  } else if (route === 'revocation' && ctx.status === 200) {
    counts.revocations += 1;
  } else if (route === 'introspection') {
    counts.introspections += 1;
  }
});

const listenPort = opts.tamper ? 0 : publicPort;
const server = provider.listen(listenPort, '127.0.0.1', () => {
  const { port } = server.address();
  if (opts.tamper) {
    startTamperProxy({ mode: opts.tamper, listenPort: publicPort, targetPort: port, issuer });
  }
  console.error(`oidc-provider ${issuer} (listening on ${port}) for ${resource}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
