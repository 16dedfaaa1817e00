import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pemCertificates, writeRunFiles } from '../../../src/run/run-files.js';
import { makeSandbox } from '../../support/cli.js';
import { startUpstream } from '../../support/tls-upstream.js';

const sandbox = makeSandbox('onecli-files-');
afterAll(() => sandbox.cleanup());

describe('the run files', () => {
  it('writes the bundle, the Node CA file and the preload into a private folder, and removes it', async () => {
    const upstream = await startUpstream();
    await upstream.close();
    const runCa = upstream.caPem;
    const extra = '-----BEGIN CERTIFICATE-----\nEXTRA\n-----END CERTIFICATE-----\n';
    const rootsFile = path.join(sandbox.dir, 'roots.pem');
    fs.writeFileSync(rootsFile, '-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n');
    const files = writeRunFiles({ caCertPem: runCa, extraCaPems: [extra, '-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n'], systemBundlePath: rootsFile, tmpDir: sandbox.dir });

    expect(fs.statSync(files.dir).mode & 0o777).toBe(0o700);
    const bundle = fs.readFileSync(files.bundlePath, 'utf8');
    expect(pemCertificates(bundle).map((pem) => pem.split('\n')[1])).toEqual(['ROOT', 'EXTRA', runCa.split('\n')[1]]);
    expect(pemCertificates(fs.readFileSync(files.nodeCaPath, 'utf8')).map((pem) => pem.split('\n')[1])).toEqual(['EXTRA', 'ROOT', runCa.split('\n')[1]]);
    expect(fs.readFileSync(files.preloadPath, 'utf8')).toContain('setGlobalDispatcher');
    for (const file of [files.bundlePath, files.nodeCaPath, files.preloadPath]) expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    files.remove();
    expect(fs.existsSync(files.dir)).toBe(false);
    files.remove();
  });

  it("falls back to Node's own roots when the system bundle is missing", () => {
    const files = writeRunFiles({ caCertPem: 'CA', extraCaPems: [], systemBundlePath: path.join(sandbox.dir, 'absent.pem'), tmpDir: sandbox.dir });
    expect(pemCertificates(fs.readFileSync(files.bundlePath, 'utf8')).length).toBeGreaterThan(50);
    files.remove();
  });
});
