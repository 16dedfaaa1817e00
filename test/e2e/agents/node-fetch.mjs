// Node's built-in fetch, sending the placeholder it holds in a header of its own. Prints the status only.
import dumpEnv from './dump-env.cjs';
dumpEnv('node-fetch');
const res = await fetch(process.argv[2], { headers: { 'x-api-key': process.env.DEMO_KEY ?? '' } });
await res.arrayBuffer();
console.log(res.status);
