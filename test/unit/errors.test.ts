import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, OnecliError } from '../../src/errors.js';
import { ROOT } from '../support/cli.js';

describe('the error table', () => {
  it('lists every code with its exit code in docs/errors.md', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
    for (const [code, { exit }] of Object.entries(ERROR_CODES)) {
      expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${exit} \\|`));
    }
  });

  it('renders as the JSON envelope without a stack', () => {
    const err = new OnecliError('E_SECRET_NOT_FOUND', 'no secret named "x"', 'see `onecli secret list`');
    expect(JSON.parse(JSON.stringify(err))).toEqual({ error: { code: 'E_SECRET_NOT_FOUND', message: 'no secret named "x"', hints: ['see `onecli secret list`'] } });
    expect(err.exitCode).toBe(10);
  });
});
