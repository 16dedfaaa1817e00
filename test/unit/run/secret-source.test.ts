import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vaultPath } from '../../../src/home.js';
import { createSecretSource } from '../../../src/run/secret-source.js';
import type { SecretRecord } from '../../../src/vault/secret.js';
import { initVault, rotateMaster, unlockVault, updateVault } from '../../../src/vault/store.js';
import { makeSandbox, type Sandbox } from '../../support/cli.js';

function record(name: string, value: string): SecretRecord {
  return {
    name,
    value,
    hosts: ['api.test.example'],
    paths: [],
    injection: { type: 'header', header: 'Authorization', template: 'Bearer {value}' },
    env: null,
    allowHttp: false,
    preset: null,
    version: 1,
    created: new Date().toISOString(),
    rotated: null,
  };
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = makeSandbox('onecli-source-');
  await initVault({ home: sandbox.onecliHome, master: 'passphrase', passphrase: 'first passphrase' });
  await updateVault({ home: sandbox.onecliHome, passphrase: 'first passphrase' }, (contents) => {
    contents.secrets.push(record('alpha', 'value-one'), record('beta', 'beta-one'));
  });
});
afterAll(() => sandbox.cleanup());

describe('the run secret source', () => {
  it('follows a rotation from the next read, and keeps its values once the master key changed', async () => {
    const unlocked = await unlockVault({ home: sandbox.onecliHome, passphrase: 'first passphrase' });
    const alpha = unlocked.contents.secrets.filter((s) => s.name === 'alpha');
    const source = createSecretSource(vaultPath(sandbox.onecliHome), unlocked.key, alpha);
    expect(source.valueOf('alpha')).toBe('value-one');

    await updateVault({ home: sandbox.onecliHome, passphrase: 'first passphrase' }, (contents) => {
      contents.secrets.find((s) => s.name === 'alpha')!.value = 'value-two';
      contents.secrets.find((s) => s.name === 'beta')!.value = 'beta-two';
    });
    expect(source.valueOf('alpha')).toBe('value-two');
    // out of scope for this run: never learned, even though the vault holds it
    expect(() => source.valueOf('beta')).toThrow(/no secret named "beta" in this run/);

    await rotateMaster({
      home: sandbox.onecliHome,
      passphrase: (purpose) => Promise.resolve(purpose === 'unlock' ? 'first passphrase' : 'second passphrase'),
    });
    await updateVault({ home: sandbox.onecliHome, passphrase: 'second passphrase' }, (contents) => {
      contents.secrets.find((s) => s.name === 'alpha')!.value = 'value-three';
    });
    expect(source.valueOf('alpha')).toBe('value-two');
  });
});
