#!/usr/bin/env node
// Proxy figures for the closing note of issue 3: direct vs `onecli run` vs mitmproxy against one local HTTPS upstream,
// rounds alternating the order, medians printed side by side with the issue's targets. Prints figures; asserts nothing.
// Needs the built CLI (`npx tsc -p tsconfig.build.json; npx oclif manifest`), go (1.19+), mitmdump, optional hyperfine.
//   node bench/proxy/run.mjs            (~4 minutes)
//   BENCH_QUICK=1 node bench/proxy/run.mjs   (~1 minute: shorter windows, 64 MiB transfers)
//   BENCH_JSON=/tmp/out.json …          (also write every round's raw figures)
//   BENCH_PROFILE=1 …                   (then one extra onecli 50-client run under node --cpu-prof: top functions)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CLI = path.join(ROOT, 'bin', 'run.js');
const HOST = 'api.bench.test';
const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MiB = 1 << 20;
const CFG = QUICK
  ? { d50: '1.5s', w50: '0.5s', d1: '1s', w1: '0.3s', dnc: '1s', wnc: '0.3s', bytes: 64 * MiB, trueRuns: 7 }
  : { d50: '5s', w50: '1s', d1: '3s', w1: '0.5s', dnc: '3s', wnc: '0.5s', bytes: 256 * MiB, trueRuns: 15 };
const NEWCONN_CLIENTS = 8;
const TARGETS = ['direct', 'onecli', 'mitmproxy'];

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

if (!fs.existsSync(path.join(ROOT, 'dist', 'commands', 'run.js'))) {
  console.error('bench: no built CLI; run `npx tsc -p tsconfig.build.json; npx oclif manifest` first');
  process.exit(2);
}
for (const tool of ['go', 'mitmdump']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench: ${tool} not found (apt-get install -y ${tool === 'go' ? 'golang-go' : 'mitmproxy'})`);
    process.exit(2);
  }
}
const HAVE_HYPERFINE = spawnSync('sh', ['-c', 'command -v hyperfine']).status === 0;

// ---- everything the bench starts is tracked here and ended by pid on the way out ----
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'onecli-bench-proxy-'));
const children = new Set();
function cleanup() {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
  fs.rmSync(TMP, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });

// A minimal environment (the machine exports SSL_CERT_FILE, NODE_EXTRA_CA_CERTS & co. globally; nothing leaks in).
const BASE_ENV = { PATH: process.env.PATH, HOME: path.join(TMP, 'home'), LANG: 'C.UTF-8', NO_COLOR: '1' };
fs.mkdirSync(BASE_ENV.HOME);

// ---- build the Go programs once (go run's compile time stays out of the figures) ----
log('building upstream and loadgen');
const goEnv = { ...BASE_ENV, GOCACHE: path.join(TMP, 'gocache'), GO111MODULE: 'off', GOFLAGS: '', CGO_ENABLED: '0' };
for (const name of ['upstream', 'loadgen']) {
  const r = spawnSync('go', ['build', '-o', path.join(TMP, name), path.join(HERE, `${name}.go`)], { env: goEnv, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) { console.error(`bench: go build ${name} failed:\n${r.stderr}`); process.exit(2); }
}
const LOADGEN = path.join(TMP, 'loadgen');

// ---- the upstream ----
const TOKEN = randomBytes(24).toString('hex'); // the bench's "API key": only onecli's vault and the upstream know it
const UPSTREAM_CA = path.join(TMP, 'upstream-ca.pem');
const upstream = spawn(path.join(TMP, 'upstream'), ['-ca-out', UPSTREAM_CA, '-token', TOKEN, '-host', HOST],
  { env: BASE_ENV, stdio: ['ignore', 'pipe', 'inherit'] });
children.add(upstream);
const { port: UP_PORT, control: UP_CONTROL } = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('upstream did not start in 10 s')), 10_000);
  upstream.stdout.once('data', (d) => { clearTimeout(timer); resolve(JSON.parse(String(d).split('\n')[0])); });
  upstream.once('exit', (code) => reject(new Error(`upstream exited (${code})`)));
});
async function upstreamStats() {
  const res = await fetch(`http://127.0.0.1:${UP_CONTROL}/stats`); // plain HTTP on loopback, no proxy involved
  return res.json();
}

// ---- the onecli vault: one secret for api.bench.test ----
const ONECLI_ENV = { ...BASE_ENV, ONECLI_HOME: path.join(TMP, 'onecli-home'), ONECLI_PASSPHRASE: `bench ${randomBytes(8).toString('hex')}` };
{
  const init = spawnSync(process.execPath, [CLI, 'init'], { env: ONECLI_ENV, encoding: 'utf8', timeout: 60_000 });
  if (init.status !== 0) { console.error(`bench: onecli init failed:\n${init.stderr}`); process.exit(2); }
  const add = spawnSync(process.execPath, [CLI, 'secret', 'add', 'bench', '--host', HOST, '--header', 'Authorization: Bearer {value}'],
    { env: ONECLI_ENV, input: TOKEN, encoding: 'utf8', timeout: 60_000 });
  if (add.status !== 0) { console.error(`bench: onecli secret add failed:\n${add.stderr}`); process.exit(2); }
}
const ONECLI_RUN_ENV = { ...ONECLI_ENV, NODE_EXTRA_CA_CERTS: UPSTREAM_CA }; // onecli trusts the test upstream

// ---- memory sampling of the proxy process (/proc/<pid>/status) ----
function readMem(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s) ?? [])[1]);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch { return null; }
}
function memSampler(pid) {
  let inWindow = false;
  let windowPeak = 0;
  let atBegin = NaN;
  let hwm = 0;
  const tick = () => {
    const m = readMem(pid);
    if (!m) return;
    if (inWindow && m.rss > windowPeak) windowPeak = m.rss;
    if (m.hwm > hwm) hwm = m.hwm;
  };
  const timer = setInterval(tick, 10);
  return {
    begin() { atBegin = readMem(pid)?.rss ?? NaN; inWindow = true; tick(); },
    end() { tick(); inWindow = false; },
    stop() { tick(); clearInterval(timer); return { beforeMB: atBegin / 1024, windowPeakMB: windowPeak / 1024, hwmMB: hwm / 1024 }; },
  };
}

// ---- mitmproxy: a fresh mitmdump per measurement, so its VmHWM belongs to that measurement ----
async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    srv.on('error', reject);
  });
}
async function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}
const MITM_CONF = path.join(TMP, 'mitmproxy-conf'); // mitmdump writes its CA here on first start
async function startMitmdump() {
  const port = await freePort();
  const proc = spawn('mitmdump', [
    '-q', '--listen-host', '127.0.0.1', '--listen-port', String(port),
    '--set', `confdir=${MITM_CONF}`,
    '--set', `ssl_verify_upstream_trusted_ca=${UPSTREAM_CA}`,
    '--set', 'stream_large_bodies=1m', // stream, as one would for 256 MiB; the default buffers whole bodies
    '-s', path.join(HERE, 'inject_addon.py'),
    '--set', `bench_host=${HOST}`,
    '--set', `bench_auth=Bearer ${TOKEN}`,
    '--set', `bench_target=127.0.0.1:${UP_PORT}`,
  ], { env: BASE_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const deadline = Date.now() + 20_000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`mitmdump did not start: ${stderr}`);
    await sleep(50);
  }
  return {
    pid: proc.pid, port,
    async stop() {
      if (proc.exitCode === null) { proc.kill('SIGTERM'); }
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
      clearTimeout(t);
      children.delete(proc);
    },
  };
}

// ---- one measurement: the loadgen through one path; returns its JSON, the upstream's rejections, the proxy's memory ----
function runProcess(cmd, args, env, { timeoutMs, onBegin, onEnd, onSpawn }) {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(proc);
    onSpawn?.(proc.pid);
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => {
      err += d;
      if (onBegin && err.includes('loadgen: begin')) { onBegin(); onBegin = null; }
      if (onEnd && err.includes('loadgen: end')) { onEnd(); onEnd = null; }
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('close', (code, signal) => { clearTimeout(timer); children.delete(proc); resolve({ code, signal, out, err }); });
  });
}

async function measure(target, loadArgs, { sampleMemory = false, timeoutMs = 180_000, nodeFlags = [] } = {}) {
  const before = await upstreamStats();
  let cmd; let args; let env; let mitm; let sampler = null;
  const directArgs = ['-resolve', `${HOST}:443:127.0.0.1:${UP_PORT}`, '-authorization', `Bearer ${TOKEN}`];
  if (target === 'direct') {
    cmd = LOADGEN; args = [...loadArgs, ...directArgs]; env = { ...BASE_ENV, SSL_CERT_FILE: UPSTREAM_CA };
  } else if (target === 'onecli') {
    // the loadgen is onecli's child: it gets HTTPS_PROXY and SSL_CERT_FILE from onecli
    cmd = process.execPath;
    args = [...nodeFlags, CLI, 'run', '--resolve', `${HOST}:443:127.0.0.1:${UP_PORT}`, '--', LOADGEN, ...loadArgs];
    env = ONECLI_RUN_ENV;
  } else {
    mitm = await startMitmdump();
    cmd = LOADGEN; args = loadArgs;
    env = { ...BASE_ENV, SSL_CERT_FILE: path.join(MITM_CONF, 'mitmproxy-ca-cert.pem'), HTTPS_PROXY: `http://127.0.0.1:${mitm.port}` };
    if (sampleMemory) sampler = memSampler(mitm.pid);
  }
  const r = await runProcess(cmd, args, env, {
    timeoutMs,
    onSpawn: (pid) => { if (sampleMemory && target === 'onecli') sampler = memSampler(pid); },
    onBegin: () => sampler?.begin(),
    onEnd: () => sampler?.end(),
  });
  const mem = sampler?.stop() ?? null;
  if (mitm) await mitm.stop();
  const after = await upstreamStats();
  const line = r.out.split('\n').find((l) => l.startsWith('{"mode"'));
  if (r.code !== 0 || !line) {
    log(`${target} ${loadArgs.join(' ')}: exit ${r.code ?? r.signal}\n${r.err.slice(-2000)}`);
    return { failed: true, rejected: after.rejected - before.rejected, mem };
  }
  const res = JSON.parse(line);
  if (target !== 'direct' && !res.via_proxy) throw new Error(`${target}: the loadgen did not go through a proxy`);
  return { ...res, rejected: after.rejected - before.rejected, mem };
}

// ---- scenarios ----
const SCENARIOS = [
  { key: 'c50', label: 'small GET, keep-alive, 50 clients', args: ['-mode', 'rps', '-c', '50', '-d', CFG.d50, '-warmup', CFG.w50] },
  { key: 'c1', label: 'small GET, keep-alive, 1 client', args: ['-mode', 'rps', '-c', '1', '-d', CFG.d1, '-warmup', CFG.w1] },
  { key: 'newconn', label: `new connection per request, ${NEWCONN_CLIENTS} clients`, args: ['-mode', 'newconn', '-c', String(NEWCONN_CLIENTS), '-d', CFG.dnc, '-warmup', CFG.wnc] },
  { key: 'download', label: `download ${CFG.bytes / MiB} MiB`, args: ['-mode', 'download', '-bytes', String(CFG.bytes)], memory: true },
  { key: 'upload', label: `upload ${CFG.bytes / MiB} MiB`, args: ['-mode', 'upload', '-bytes', String(CFG.bytes)], memory: true },
];

const results = {}; // results[scenario][target] = [round results]
for (const s of SCENARIOS) results[s.key] = Object.fromEntries(TARGETS.map((t) => [t, []]));

const started = Date.now();
const loadBefore = os.loadavg()[0];
log(`upstream on 127.0.0.1:${UP_PORT}; ${ROUNDS} rounds${QUICK ? ' (quick)' : ''}`);
for (let round = 0; round < ROUNDS; round++) {
  const order = TARGETS.map((_, i) => TARGETS[(i + round) % TARGETS.length]); // rotate: each path goes first once
  log(`round ${round + 1}/${ROUNDS}: ${order.join(', ')}`);
  for (const s of SCENARIOS) {
    for (const target of order) {
      const r = await measure(target, s.args, { sampleMemory: !!s.memory });
      results[s.key][target].push(r);
    }
  }
}

// `onecli run -- true`: a fresh process each time, vault unlock (the KDF) included
log('timing `onecli run -- true`');
function timeCommandOwn(args, env, runs) {
  const times = [];
  for (let i = 0; i < runs + 1; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [CLI, ...args], { env, stdio: 'ignore', timeout: 30_000 });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`onecli ${args.join(' ')} exited ${r.status}`);
    if (i > 0) times.push(ms); // the first run warms the page cache
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
}
function timeCommand(args, env, runs) {
  if (!HAVE_HYPERFINE) return { ...timeCommandOwn(args, env, runs), tool: 'own timing' };
  const json = path.join(TMP, 'hyperfine.json');
  const quote = (a) => `'${a.replace(/'/g, `'\\''`)}'`;
  const r = spawnSync('hyperfine', ['-N', '--style', 'none', '--warmup', '1', '--runs', String(runs), '--export-json', json,
    [process.execPath, CLI, ...args].map(quote).join(' ')], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { ...timeCommandOwn(args, env, runs), tool: 'own timing' };
  const { results: [h] } = JSON.parse(fs.readFileSync(json, 'utf8'));
  return { median: h.median * 1000, min: h.min * 1000, max: h.max * 1000, tool: 'hyperfine -N' };
}
const runTrue = timeCommand(['run', '--', 'true'], ONECLI_RUN_ENV, CFG.trueRuns);
const version = timeCommand(['--version'], ONECLI_RUN_ENV, CFG.trueRuns);
const kdf = await (async () => {
  const { deriveKey, DEFAULT_KDF_PARAMS } = await import(path.join(ROOT, 'dist', 'crypto', 'kdf.js'));
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    await deriveKey(Buffer.from('bench'), Buffer.alloc(16, i), DEFAULT_KDF_PARAMS);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
})();

// ---- the table ----
const med = (key, target, f) => median(results[key][target].filter((r) => !r.failed).map(f));
const fails = (key, target) => results[key][target].filter((r) => r.failed || r.errors > 0).length;
const rej = (key, target) => results[key][target].reduce((n, r) => n + (r.rejected || 0), 0);
const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');

const rows = [];
const row = (what, f, digits) => rows.push([what, ...TARGETS.map((t) => fmt(f(t), digits))]);
row('50 clients: req/s', (t) => med('c50', t, (r) => r.rps), 0);
row('50 clients: p50 ms', (t) => med('c50', t, (r) => r.p50_ms), 2);
row('50 clients: p99 ms', (t) => med('c50', t, (r) => r.p99_ms), 2);
row('1 client: req/s', (t) => med('c1', t, (r) => r.rps), 0);
row('1 client: p50 ms', (t) => med('c1', t, (r) => r.p50_ms), 3);
row('1 client: p99 ms', (t) => med('c1', t, (r) => r.p99_ms), 3);
row(`new conn (${NEWCONN_CLIENTS} clients): conn/s`, (t) => med('newconn', t, (r) => r.rps), 0);
row('new conn: p50 ms', (t) => med('newconn', t, (r) => r.p50_ms), 2);
for (const k of ['download', 'upload']) {
  row(`${k} ${CFG.bytes / MiB} MiB: MB/s`, (t) => med(k, t, (r) => r.mb_per_s), 0);
  row(`${k}: proxy RSS before, MB`, (t) => (t === 'direct' ? NaN : med(k, t, (r) => r.mem?.beforeMB)), 0);
  row(`${k}: proxy RSS peak during, MB`, (t) => (t === 'direct' ? NaN : med(k, t, (r) => r.mem?.windowPeakMB)), 0);
  row(`${k}: proxy VmHWM, MB`, (t) => (t === 'direct' ? NaN : med(k, t, (r) => r.mem?.hwmMB)), 0);
}
rows.push(['errors (runs with any) / 401s', ...TARGETS.map((t) => `${SCENARIOS.reduce((n, s) => n + fails(s.key, t), 0)} / ${SCENARIOS.reduce((n, s) => n + rej(s.key, t), 0)}`)]);

const head = ['', ...TARGETS];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
const cpu = os.cpus();
const commit = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
const mitmVersion = (spawnSync('mitmdump', ['--version'], { encoding: 'utf8', env: BASE_ENV }).stdout.match(/Mitmproxy: (\S+)/) ?? [])[1];
const goVersion = spawnSync('go', ['version'], { encoding: 'utf8', env: goEnv }).stdout.trim().split(' ')[2];

console.log(`onecli ${commit} · node ${process.version} · ${goVersion} · mitmproxy ${mitmVersion} · ${cpu.length} × ${cpu[0]?.model.trim()}`);
console.log(`${ROUNDS} rounds, order rotated each round, medians; ${QUICK ? 'BENCH_QUICK' : 'full'} run in ${((Date.now() - started) / 1000).toFixed(0)} s;` +
  ` load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after (other work on the machine moves every figure).`);
console.log(`All on 127.0.0.1, ${cpu.length} cores shared by the load generator, the proxy and the upstream: a proxy's figures include`);
console.log('the CPU it takes from the other two. HTTP/1.1 everywhere; mitmproxy with stream_large_bodies=1m and an addon that sets');
console.log('the header in requestheaders. Every /small answer counted is a 200 from an upstream that checks the credential.');
console.log('');
console.log(line(head));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
console.log('');
console.log(`onecli run -- true: median ${fmt(runTrue.median, 0)} ms (min ${fmt(runTrue.min, 0)}, max ${fmt(runTrue.max, 0)}; ${CFG.trueRuns} runs, ${runTrue.tool});` +
  ` for reference onecli --version ${fmt(version.median, 0)} ms, the KDF alone ${fmt(kdf, 0)} ms`);

// ---- the issue's targets ----
const v = {
  c50: Object.fromEntries(TARGETS.map((t) => [t, med('c50', t, (r) => r.rps)])),
  p50: Object.fromEntries(TARGETS.map((t) => [t, med('c1', t, (r) => r.p50_ms)])),
  nc: Object.fromEntries(TARGETS.map((t) => [t, med('newconn', t, (r) => r.rps)])),
};
const checks = [
  [`req/s at 50 clients vs mitmproxy ≥ 10×`, v.c50.onecli / v.c50.mitmproxy, (x) => `${fmt(x, 1)}×`, (x) => x >= 10],
  [`req/s at 50 clients vs direct ≥ 35%`, v.c50.onecli / v.c50.direct, (x) => `${fmt(100 * x, 0)}%`, (x) => x >= 0.35],
  [`added p50 at 1 client ≤ 0.25 ms`, v.p50.onecli - v.p50.direct, (x) => `${fmt(x, 3)} ms`, (x) => x <= 0.25],
  [`new connections/s vs direct ≥ 35%`, v.nc.onecli / v.nc.direct, (x) => `${fmt(100 * x, 0)}%`, (x) => x >= 0.35],
];
for (const k of ['download', 'upload']) {
  const ratio = med(k, 'onecli', (r) => r.mb_per_s) / med(k, 'direct', (r) => r.mb_per_s);
  checks.push([`${k} MB/s vs direct ≥ 50%`, ratio, (x) => `${fmt(100 * x, 0)}%`, (x) => x >= 0.5]);
  const rss = Math.max(...results[k].onecli.map((r) => r.mem?.windowPeakMB ?? NaN));
  checks.push([`${k}: onecli RSS during the transfer < 100 MB (max of rounds)`, rss, (x) => `${fmt(x, 0)} MB`, (x) => x < 100]);
}
checks.push(['onecli run -- true < 400 ms (KDF included)', runTrue.median, (x) => `${fmt(x, 0)} ms`, (x) => x < 400]);
const anyOnecliFailure = SCENARIOS.some((s) => fails(s.key, 'onecli') > 0 || rej(s.key, 'onecli') > 0);
console.log('');
console.log('targets (issue 3)');
for (const [what, x, show, ok] of checks) {
  console.log(`  ${Number.isFinite(x) && ok(x) ? 'met ' : 'MISS'}  ${what.padEnd(58)} ${show(x)}`);
}
if (anyOnecliFailure) console.log('  NOTE  some onecli runs had errors or upstream 401s (credential not injected): see the errors row');

if (process.env.BENCH_JSON) {
  fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({ cfg: CFG, rounds: ROUNDS, results, runTrue, version, kdf }, null, 2));
  log(`raw figures in ${process.env.BENCH_JSON}`);
}

// ---- optional: where onecli's CPU goes (node --cpu-prof of the onecli process; self time, top entries) ----
function summariseProfile(dir, topN) {
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const prof = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const byFunction = new Map();
  const byPlace = new Map();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const cf = byId.get(id).callFrame;
    const url = cf.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
    const where = url ? `${url}:${cf.lineNumber + 1}` : '';
    const fn = `${cf.functionName || '(anonymous)'} ${where}`.trim();
    const place = url === '' ? '(native, GC, idle)' : url.startsWith('node:') ? 'node: built-ins'
      : (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (/^dist\/([^/]+)/.exec(url)?.[0] ?? url));
    const dt = prof.timeDeltas[i] ?? 0;
    total += dt;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
    byPlace.set(place, (byPlace.get(place) ?? 0) + dt);
  });
  const show = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN)
    .map(([k, t]) => `  ${fmt((100 * t) / total, 1).padStart(5)}%  ${k}`).join('\n');
  return { ms: total / 1000, functions: show(byFunction), places: show(byPlace) };
}
if (process.env.BENCH_PROFILE === '1') {
  const dir = path.join(TMP, 'cpuprof-c50');
  fs.mkdirSync(dir);
  const r = await measure('onecli', SCENARIOS[0].args, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  const p = summariseProfile(dir, 16);
  console.log('');
  console.log(`onecli under --cpu-prof, 50 clients: ${fmt(r.rps, 0)} req/s (the profiler costs some). Self time by function:`);
  console.log(p.functions);
  console.log('by place:');
  console.log(p.places);

  const dir2 = path.join(TMP, 'cpuprof-true');
  fs.mkdirSync(dir2);
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir2}`, CLI, 'run', '--', 'true'], { env: ONECLI_RUN_ENV, stdio: 'ignore', timeout: 30_000 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const q = summariseProfile(dir2, 12);
  console.log('');
  console.log(`onecli run -- true under --cpu-prof: ${fmt(wall, 0)} ms wall, ${fmt(q.ms, 0)} ms profiled. Self time by place:`);
  console.log(q.places);
  console.log('by function:');
  console.log(q.functions);
}

process.exit(0); // the exit handler ends whatever is left (by pid) and removes the temp folder
