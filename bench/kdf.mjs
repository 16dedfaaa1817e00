#!/usr/bin/env node
/**
 * What one vault unlock's key derivation costs here: median wall time of deriveKey at DEFAULT_KDF_PARAMS and the
 * process's peak RSS. Runs the built code, so build first:
 *
 *   npx tsc -p tsconfig.build.json && node bench/kdf.mjs [runs=15]
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

let kdf;
try {
  kdf = await import('../dist/crypto/kdf.js');
} catch {
  process.stderr.write('bench/kdf.mjs: dist/crypto/kdf.js is missing; run `npx tsc -p tsconfig.build.json` first\n');
  process.exit(1);
}

const runs = Number(process.argv[2] ?? 15);
const params = kdf.DEFAULT_KDF_PARAMS;
const mib = (bytes) => (bytes / 1024 / 1024).toFixed(1);

const baselineRss = process.memoryUsage().rss;
await kdf.deriveKey(randomBytes(32), randomBytes(16), params); // warm-up: loads the native module, first allocation

const times = [];
for (let i = 0; i < runs; i++) {
  const secret = randomBytes(32);
  const salt = randomBytes(16);
  const start = performance.now();
  await kdf.deriveKey(secret, salt, params);
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const median = runs % 2 === 1 ? times[(runs - 1) / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
const peakRss = process.resourceUsage().maxRSS * 1024;

process.stdout.write(
  [
    `deriveKey Argon2id m=${params.memoryKiB} KiB t=${params.iterations} p=${params.parallelism}, ${runs} runs`,
    `  machine       ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`,
    `  median        ${median.toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[times.length - 1].toFixed(1)})`,
    `  RSS before    ${mib(baselineRss)} MiB`,
    `  peak RSS      ${mib(peakRss)} MiB (+${mib(peakRss - baselineRss)} MiB for the KDF)`,
    '',
  ].join('\n'),
);
