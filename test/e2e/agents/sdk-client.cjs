// Shaped like popular API SDKs: the library makes its own keep-alive https.Agent when it is loaded.
const https = require('node:https');
const agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
exports.get = (url, headers) =>
  new Promise((resolve, reject) => {
    https
      .get(url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', reject);
  });
exports.close = () => agent.destroy();
