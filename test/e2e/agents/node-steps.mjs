// A controllable agent: dumps its env, then for each step i waits for $AGENT_OUT/go-i, makes one request and writes
// the status to $AGENT_OUT/done-i. Lets a test act on the running session between requests.
import fs from 'node:fs';
import path from 'node:path';
import dumpEnv from './dump-env.cjs';
const out = process.env.AGENT_OUT;
const steps = Number(process.argv[3] ?? '1');
dumpEnv('steps');
fs.writeFileSync(path.join(out, 'ready'), '');
const waitFor = async (file) => {
  while (!fs.existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 25));
};
for (let i = 1; i <= steps; i++) {
  await waitFor(path.join(out, `go-${i}`));
  const res = await fetch(process.argv[2]);
  await res.arrayBuffer();
  fs.writeFileSync(path.join(out, `done-${i}`), String(res.status));
}
console.log('steps done');
