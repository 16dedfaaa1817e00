// https.request on the global agent.
import https from 'node:https';
import dumpEnv from './dump-env.cjs';
dumpEnv('node-https');
https
  .get(process.argv[2], { headers: { 'x-api-key': process.env.DEMO_KEY ?? '' } }, (res) => {
    res.resume();
    res.on('end', () => console.log(res.statusCode));
  })
  .on('error', (err) => {
    console.error(`request failed: ${err.message}`);
    process.exit(1);
  });
