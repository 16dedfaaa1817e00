// An agent using the SDK-style client above: two calls on the client's own kept-alive agent.
const dumpEnv = require('./dump-env.cjs');
const client = require('./sdk-client.cjs');
dumpEnv('node-sdk');
(async () => {
  const headers = { 'x-api-key': process.env.DEMO_KEY ?? '' };
  const first = await client.get(process.argv[2], headers);
  const second = await client.get(process.argv[2], headers);
  client.close();
  console.log(first === second ? String(first) : `${first} ${second}`);
})().catch((err) => {
  console.error(`request failed: ${err.message}`);
  process.exit(1);
});
