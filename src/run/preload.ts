/**
 * The Node preload `onecli run` puts in the child's NODE_OPTIONS (`--require`). Node 20 ignores the proxy variables
 * (NODE_USE_ENV_PROXY only works from 22.21), so a Node agent would otherwise go straight to the network and send
 * nothing but placeholders. The preload:
 *  1. sets undici's global dispatcher (the symbol Node's built-in `fetch` reads) to an EnvHttpProxyAgent;
 *  2. patches `http.Agent.prototype.createConnection` and `https.Agent.prototype.createConnection`, so every agent —
 *     also one an SDK created at load time, and subclasses that copy or call these methods — opens a CONNECT tunnel
 *     to the proxy (with Proxy-Authorization) and runs HTTP or TLS over it. Plain HTTP goes through a tunnel too: the
 *     proxy tells a non-TLS tunnel by its first byte.
 * The proxy address and token are read from the child's own HTTPS_PROXY at load time, so the file on disk holds no
 * token; it is CommonJS so `--require` loads it before any ES module.
 */
export function preloadSource(undiciPath: string): string {
  return `'use strict';
// Written by onecli run; removed when the run ends.
(function onecliPreload() {
  const UNDICI = ${JSON.stringify(undiciPath)};
  const env = process.env;
  const raw = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  if (!raw) return;
  let proxy;
  try { proxy = new URL(raw); } catch { return; }
  if (proxy.protocol !== 'http:') return;
  const proxyHost = proxy.hostname.replace(/^\\[|\\]$/g, '');
  const proxyPort = Number(proxy.port || 80);
  const proxyAuth = proxy.username || proxy.password
    ? 'Basic ' + Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64')
    : undefined;
  const warn = (what, err) => {
    try { process.stderr.write('onecli: warning: ' + what + ': ' + (err && err.message ? err.message : String(err)) + '\\n'); } catch {}
  };

  try {
    const undici = require(UNDICI);
    undici.setGlobalDispatcher(new undici.EnvHttpProxyAgent());
  } catch (err) {
    warn('fetch() in this process will not go through the onecli proxy', err);
  }

  const net = require('net');
  const http = require('http');
  const https = require('https');
  const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', proxyHost]);
  const MAX_RESPONSE_HEAD = 16384;

  function isProxyItself(host, port) {
    return Number(port) === proxyPort && LOOPBACK.has(String(host).replace(/^\\[|\\]$/g, '').toLowerCase());
  }

  function authority(host, port) {
    const bare = String(host).replace(/^\\[|\\]$/g, '');
    return (bare.includes(':') ? '[' + bare + ']' : bare) + ':' + port;
  }

  function tunnelError(target, message, code) {
    const err = new Error('onecli proxy: ' + message + ' (CONNECT ' + target + ')');
    err.code = code;
    return err;
  }

  // Calls back exactly once: with a socket on which the tunnel to target is open, or with an error.
  function openTunnel(target, callback) {
    const socket = net.connect({ host: proxyHost, port: proxyPort });
    let head = Buffer.alloc(0);
    let done = false;
    const finish = (err, result) => {
      if (done) return;
      done = true;
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (err) socket.destroy();
      callback(err, result);
    };
    const onError = (err) => finish(err);
    const onClose = () => finish(tunnelError(target, 'the proxy closed the connection', 'ECONNRESET'));
    function onData(chunk) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\\r\\n\\r\\n');
      if (end === -1) {
        if (head.length > MAX_RESPONSE_HEAD) finish(tunnelError(target, 'response head too long', 'EPROTO'));
        return;
      }
      const statusLine = head.subarray(0, head.indexOf('\\r\\n')).toString('latin1');
      const status = /^HTTP\\/1\\.[01] (\\d{3})/.exec(statusLine);
      if (!status || status[1] !== '200') {
        const reason = /^onecli-reason: *(.*)$/im.exec(head.subarray(0, end).toString('latin1'));
        finish(tunnelError(target, 'refused: ' + statusLine + (reason ? ' — ' + reason[1] : ''), 'ECONNREFUSED'));
        return;
      }
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      finish(null, socket);
    }
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write('CONNECT ' + target + ' HTTP/1.1\\r\\nHost: ' + target + '\\r\\n' +
      (proxyAuth ? 'Proxy-Authorization: ' + proxyAuth + '\\r\\n' : '') + '\\r\\n');
  }

  function patch(proto, defaultPort, wrap) {
    const original = proto.createConnection;
    if (typeof original !== 'function' || original.__onecli) return;
    const patched = function createConnection(options, callback) {
      if (options === null || typeof options !== 'object' || typeof callback !== 'function' ||
          options.socketPath || options.socket || isProxyItself(options.host || 'localhost', options.port || defaultPort)) {
        return original.apply(this, arguments);
      }
      const target = authority(options.host || 'localhost', options.port || defaultPort);
      openTunnel(target, (err, socket) => {
        if (err) { callback(err); return; }
        let result;
        try { result = wrap.call(this, original, options, socket); } catch (wrapErr) { socket.destroy(); callback(wrapErr); return; }
        result.resume();
        callback(null, result);
      });
      return undefined;
    };
    patched.__onecli = true;
    proto.createConnection = patched;
  }

  patch(http.Agent.prototype, 80, (_original, _options, socket) => socket);
  // The original https createConnection does tls.connect (with the agent's TLS session cache) over the given socket.
  patch(https.Agent.prototype, 443, function (original, options, socket) {
    return original.call(this, Object.assign({}, options, { socket }));
  });
})();
`;
}
