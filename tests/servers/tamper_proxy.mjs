// A test fixture, not a component under test: a loopback reverse proxy in
// front of the real oidc-provider (oidc_provider.mjs --tamper MODE) that
// forwards every request and answer unchanged, except the redirect that
// carries the authorization response to the client's loopback redirect URI
// (a 3xx whose Location has `code` or `error`). There it changes one
// parameter, as an attacker mixing up authorization servers (RFC 9207) or
// injecting a response (CSRF) would:
//   iss     `iss` replaced by another issuer's URL
//   no-iss  `iss` removed (the provider advertises that it always sends it)
//   state   `state` replaced by a fresh random value
// The provider's issuer is the proxy's URL, so every URL the provider builds
// points here; nothing else is touched. Loopback only.
import crypto from 'node:crypto';
import http from 'node:http';

/** Changes the authorization response in `location` per `mode`. */
function tamper(location, mode, issuer) {
  let url;
  try {
    url = new URL(location);
  } catch {
    return location;
  }
  const q = url.searchParams;
  if (url.origin === issuer || !(q.has('code') || q.has('error'))) return location;
  if (mode === 'iss') q.set('iss', 'http://127.0.0.1:9/another-issuer');
  else if (mode === 'no-iss') q.delete('iss');
  else if (mode === 'state') q.set('state', crypto.randomBytes(16).toString('base64url'));
  console.error(`tamper_proxy: ${mode} applied to an authorization response`);
  return url.href;
}

export function startTamperProxy({ mode, listenPort, targetPort, issuer }) {
  if (!['iss', 'no-iss', 'state'].includes(mode)) {
    console.error(`tamper_proxy: unknown mode ${mode}`);
    process.exit(2);
  }
  const server = http.createServer((req, res) => {
    const upstream = http.request({
      host: '127.0.0.1',
      port: targetPort,
      method: req.method,
      path: req.url,
      headers: req.headers,
    }, (answer) => {
      const headers = { ...answer.headers };
      if (answer.statusCode >= 300 && answer.statusCode < 400 && headers.location) {
        headers.location = tamper(headers.location, mode, issuer);
      }
      res.writeHead(answer.statusCode, headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.listen(listenPort, '127.0.0.1');
  return server;
}
