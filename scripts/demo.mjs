#!/usr/bin/env node
// `npm run demo`: the whole onecli story on one screen, in a throwaway folder that is removed at the end.
// A local HTTPS "demo API" answers only with the right key; an agent calls it through `onecli run` holding nothing
// but a placeholder; the audit log shows what happened. The demo key is random and never printed.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'run.js');
const HOST = 'api.demo.test';
const dim = (s) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[1m${s}\x1b[0m` : s);
const say = (text) => process.stdout.write(`\n${bold('▸')} ${text}\n`);

async function makeCertificates() {
  x509.cryptoProvider.set(webcrypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 3_600_000);
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=onecli demo API CA',
    keys: caKeys,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    subject: `CN=${HOST}`,
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: HOST }]), new x509.BasicConstraintsExtension(false)],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
  return { caPem: ca.toString('pem'), certPem: leaf.toString('pem'), keyPem };
}

function startDemoApi(certs, apiKey) {
  const server = https.createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    const ok = req.headers.authorization === `Bearer ${apiKey}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { message: 'hello, agent: your key was accepted' } : { error: 'missing or wrong API key' }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Runs the CLI with the terminal handed through (stdout/stderr visible), feeding input on stdin when given. */
function onecli(args, env, input, { mayFail = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: dir, stdio: [input === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'] });
    if (input !== undefined) child.stdin.end(input);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 || mayFail ? resolve(code) : reject(new Error(`onecli ${args[0]} exited with ${code}`))));
  });
}

const AGENT = `// A tiny "agent": it holds only what onecli gave it, and calls the demo API with Node's fetch.
const key = process.env.DEMO_API_KEY;
console.log('  agent: my DEMO_API_KEY is ' + JSON.stringify(key) + '  (a placeholder, not the key)');
try {
  const res = await fetch('https://${HOST}/v1/hello', { headers: { authorization: 'Bearer ' + key } });
  console.log('  agent: the API answered ' + res.status + ' ' + (await res.text()));
} catch (err) {
  console.log('  agent: the request failed: ' + (err.cause?.message ?? err.message));
  process.exitCode = 1;
}
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onecli-demo-'));
let server;
try {
  const certs = await makeCertificates();
  const apiKey = `sk_live_${randomBytes(24).toString('hex')}`;
  server = await startDemoApi(certs, apiKey);
  const port = server.address().port;
  const caFile = path.join(dir, 'demo-api-ca.pem');
  fs.writeFileSync(caFile, certs.caPem);
  fs.writeFileSync(path.join(dir, 'agent.mjs'), AGENT);

  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('ONECLI_')) delete env[name];
  Object.assign(env, {
    ONECLI_HOME: path.join(dir, 'state'),
    // a passphrase vault, so the demo works without an OS keychain
    ONECLI_PASSPHRASE: randomBytes(16).toString('hex'),
    // onecli trusts the demo API's own CA, as it would a company CA
    NODE_EXTRA_CA_CERTS: caFile,
  });

  say(`A demo API is listening on 127.0.0.1:${port} as https://${HOST}; it answers 200 only with the right key.`);
  say('Create a throwaway vault (in a temp folder) and store the key; the value goes in on stdin, never on the command line:');
  console.log(dim(`  $ onecli init && printf %s "$KEY" | onecli secret add demo --host ${HOST} --header 'Authorization: Bearer {value}' --env DEMO_API_KEY`));
  await onecli(['init'], env);
  await onecli(['secret', 'add', 'demo', '--host', HOST, '--header', 'Authorization: Bearer {value}', '--env', 'DEMO_API_KEY'], env, apiKey);

  say('Run the agent behind onecli. It gets a placeholder; the per-run proxy puts the real key on requests to the API:');
  console.log(dim(`  $ onecli run --resolve ${HOST}:443:127.0.0.1:${port} -- node agent.mjs`));
  await onecli(['run', '--resolve', `${HOST}:443:127.0.0.1:${port}`, '--', 'node', 'agent.mjs'], env, undefined, {
    mayFail: true,
  });

  say('Every decision is in the audit log (no values, no query strings, no bodies):');
  console.log(dim('  $ onecli audit tail'));
  await onecli(['audit', 'tail'], env);

  say('Done. The vault, the log and the demo API were throwaway; they are removed now.');
} catch (err) {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  server?.close();
  server?.closeAllConnections?.();
  fs.rmSync(dir, { recursive: true, force: true });
}
