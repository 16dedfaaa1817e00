#!/usr/bin/env node
// Figures for the vault: median wall time of `onecli secret list` with 1, 100 and 1,000 secrets (a fresh process each
// time, KDF included), the KDF alone, and peak RSS. Run after `npm run build`: `node bench/vault.mjs`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(root, 'dist', p));
const { initVault, updateVault } = await dist('vault/store.js');
const { deriveKey, DEFAULT_KDF_PARAMS } = await dist('crypto/kdf.js');

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const passphrase = 'bench passphrase';

async function kdfAlone() {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await deriveKey(Buffer.from(passphrase), Buffer.alloc(16, i), DEFAULT_KDF_PARAMS);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

function timeCommand(args, env) {
  // GNU time reports the peak RSS of the process it runs (%M, KiB).
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(root, 'bin/run.js'), ...args], { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`onecli ${args.join(' ')} failed: ${r.stderr}`);
  const rssKiB = Number(r.stderr.trim().split('\n').pop());
  return { ms, rssKiB };
}

const rows = [];
const kdfMs = await kdfAlone();
// The same work a CLI process does for the KDF alone: start Node, load the KDF module, derive once.
const kdfProcessScript = `const { deriveKey, DEFAULT_KDF_PARAMS } = await import(${JSON.stringify(path.join(root, 'dist/crypto/kdf.js'))}); await deriveKey(Buffer.from('x'), Buffer.alloc(16), DEFAULT_KDF_PARAMS);`;
const kdfProcess = median(Array.from({ length: RUNS }, () => {
  const t = process.hrtime.bigint();
  spawnSync(process.execPath, ['--input-type=module', '-e', kdfProcessScript]);
  return Number(process.hrtime.bigint() - t) / 1e6;
}));
const nodeStart = median(Array.from({ length: RUNS }, () => timeCommand(['--version'], { PATH: process.env.PATH }).ms));
for (const count of [1, 100, 1000]) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'onecli-bench-'));
  await initVault({ home, master: 'passphrase', passphrase });
  await updateVault({ home, passphrase }, (contents) => {
    for (let i = 0; i < count; i++) {
      contents.secrets.push({
        name: `secret-${i}`, value: `sk_test_${'x'.repeat(40)}${i}`, hosts: [`api${i}.example.com`], paths: [],
        injection: { type: 'header', header: 'Authorization', template: 'Bearer {value}' }, env: `KEY_${i}`,
        allowHttp: false, preset: null, version: 1, created: new Date().toISOString(), rotated: null,
      });
    }
  });
  const env = { PATH: process.env.PATH, HOME: home, ONECLI_HOME: home, ONECLI_PASSPHRASE: passphrase, NO_COLOR: '1' };
  const samples = Array.from({ length: RUNS }, () => timeCommand(['secret', 'list', '--json'], env));
  rows.push({ count, ms: median(samples.map((s) => s.ms)), rssMiB: Math.max(...samples.map((s) => s.rssKiB)) / 1024 });
  fs.rmSync(home, { recursive: true, force: true });
}

console.log(`node ${process.version}, ${os.cpus().length} cores, ${RUNS} runs each (medians)`);
console.log(`KDF alone (Argon2id m=64 MiB t=3 p=1, in-process): ${kdfMs.toFixed(1)} ms`);
console.log(`KDF alone in a fresh Node process:                  ${kdfProcess.toFixed(1)} ms`);
console.log(`process start (onecli --version):                  ${nodeStart.toFixed(1)} ms`);
for (const r of rows) {
  console.log(`secret list, ${String(r.count).padStart(4)} secrets: ${r.ms.toFixed(1)} ms wall (${(r.ms / kdfProcess).toFixed(2)}x the KDF-alone process), peak RSS ${r.rssMiB.toFixed(1)} MiB`);
}
