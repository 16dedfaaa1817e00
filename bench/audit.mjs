// Audit log figures, against the built code (npx tsc -p tsconfig.build.json first). Prints figures; asserts nothing.
//   node bench/audit.mjs [events-in-big-log=1000000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (file) => new URL(`file://${path.join(ROOT, 'dist', file)}`).href;
const { AuditWriter } = await import(dist('audit/writer.js'));
const { tailAudit } = await import(dist('audit/reader.js'));
const { verifyAudit } = await import(dist('audit/verify.js'));

const BIG = Number(process.argv[2] ?? 1_000_000);
const key = randomBytes(32);
const env = { PATH: process.env.PATH, LANG: 'C.UTF-8', NO_COLOR: '1' };
const request = (i) => ({ event: 'request', method: 'POST', host: 'api.stripe.com', port: 443, path: `/v1/charges/${i}`, status: 200,
  decision: 'injected', secrets: ['stripe'], bytes_in: 512, bytes_out: 2048, duration_ms: 42 });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'onecli-bench-audit-'));
const rate = (n, ms) => `${Math.round((n / ms) * 1000).toLocaleString('en')} events/s`;

function appendMany(home, n) {
  const writer = AuditWriter.open({ home, key, agent: ['bench'] });
  writer.append({ event: 'session.start', secrets: ['stripe'], proxy_port: 1 });
  for (let i = 0; i < n - 2; i++) writer.append(request(i));
  writer.append({ event: 'session.end', exit_code: 0, signal: null });
  writer.close();
}

// 1. one writer
{
  const dir = tmp();
  const n = 100_000;
  const start = performance.now();
  appendMany(path.join(dir, 'state'), n);
  console.log(`one writer:            ${rate(n, performance.now() - start)} (${n.toLocaleString('en')} events, fsync not used: one write() per line)`);
  fs.rmSync(dir, { recursive: true, force: true });
}

// 2. eight writer processes at once (timed from a start file every child waits for)
{
  const dir = tmp();
  const home = path.join(dir, 'state');
  const go = path.join(dir, 'go');
  const per = 50_000;
  const child = `
    import fs from 'node:fs';
    const { AuditWriter } = await import(${JSON.stringify(dist('audit/writer.js'))});
    while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 1));
    const w = AuditWriter.open({ home: ${JSON.stringify(home)}, key: Buffer.from('${key.toString('hex')}', 'hex'), agent: ['bench'] });
    for (let i = 0; i < ${per - 1}; i++) w.append({ event: 'request', method: 'GET', host: 'api.stripe.com', port: 443, path: '/v1/x/' + i,
      status: 200, decision: 'injected', secrets: ['stripe'], bytes_in: 1, bytes_out: 1, duration_ms: 1 });
    w.append({ event: 'session.end', exit_code: 0, signal: null });`;
  const children = Array.from({ length: 8 }, () => spawn(process.execPath, ['--input-type=module', '-e', child], { env, stdio: 'inherit' }));
  await new Promise((resolve) => setTimeout(resolve, 1500)); // let every child load and wait on the start file
  const start = performance.now();
  fs.writeFileSync(go, '');
  await Promise.all(children.map((c) => new Promise((resolve) => c.on('close', resolve))));
  const ms = performance.now() - start;
  const result = verifyAudit(home, key);
  console.log(`8 concurrent writers:  ${rate(8 * per, ms)} in total (${(8 * per).toLocaleString('en')} events; verify ok=${result.ok}, events=${result.events})`);
  fs.rmSync(dir, { recursive: true, force: true });
}

// 3. a 1,000,000-event log: tail -n 20 (library and the real command) and verify
{
  const dir = tmp();
  const home = path.join(dir, 'state');
  const start = performance.now();
  appendMany(home, BIG);
  const files = fs.readdirSync(path.join(home, 'audit'));
  const bytes = files.reduce((sum, f) => sum + fs.statSync(path.join(home, 'audit', f)).size, 0);
  console.log(`big log:               ${BIG.toLocaleString('en')} events, ${(bytes / 2 ** 20).toFixed(0)} MiB in ${files.length} files (written in ${((performance.now() - start) / 1000).toFixed(1)} s)`);

  let t0 = performance.now();
  const tail = tailAudit(home, 20);
  console.log(`tail -n 20 (library):  ${(performance.now() - t0).toFixed(1)} ms, ${tail.bytesRead.toLocaleString('en')} bytes read, ${tail.events.length} events`);
  const times = [];
  for (let i = 0; i < 5; i++) {
    t0 = performance.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'audit', 'tail', '-n', '20'], { env: { ...env, ONECLI_HOME: home, HOME: dir }, encoding: 'utf8' });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(r.stderr);
  }
  t0 = performance.now();
  spawnSync(process.execPath, ['-e', ''], { env });
  const bare = performance.now() - t0;
  console.log(`onecli audit tail -n 20: ${times.map((t) => t.toFixed(0)).join(', ')} ms (whole process; bare \`node -e ''\` takes ${bare.toFixed(0)} ms)`);

  t0 = performance.now();
  const result = verifyAudit(home, key);
  const ms = performance.now() - t0;
  console.log(`verify:                ${rate(result.events, ms)} (${(ms / 1000).toFixed(1)} s, ok=${result.ok}, ${result.files} files)`);
  fs.rmSync(dir, { recursive: true, force: true });
}
