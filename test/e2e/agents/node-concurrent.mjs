// N requests at once, each on its own connection (its own CONNECT tunnel); prints how many got a 200.
import https from 'node:https';
const count = Number(process.argv[3] ?? '200');
const agent = new https.Agent({ keepAlive: false, maxSockets: count });
const one = () =>
  new Promise((resolve) => {
    https
      .get(process.argv[2], { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', (err) => resolve(err.code ?? 'error'));
  });
const results = await Promise.all(Array.from({ length: count }, one));
const ok = results.filter((status) => status === 200).length;
console.log(`${ok}/${count}`);
if (ok !== count) console.error(JSON.stringify([...new Set(results)]));
