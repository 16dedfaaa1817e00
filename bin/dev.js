#!/usr/bin/env node
// Runs the compiled commands too: build first (`npm run build`). Kept so `bin/dev.js` works as oclif users expect.
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });
