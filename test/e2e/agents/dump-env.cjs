// Shared by the Node agents: writes this process's environment to $AGENT_OUT/env-<name>.json.
const fs = require('node:fs');
const path = require('node:path');
module.exports = function dumpEnv(name) {
  fs.writeFileSync(path.join(process.env.AGENT_OUT, `env-${name}.json`), JSON.stringify(process.env));
};
