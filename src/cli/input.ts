import fs from 'node:fs';
import readline from 'node:readline';
import { OnecliError } from '../errors.js';

/** Reads all of stdin and strips one trailing newline, as `printf 'v\n' | onecli secret add` users expect. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** A prompt on the terminal whose answer is not echoed. */
export async function promptHidden(question: string): Promise<string> {
  const input = process.stdin.isTTY ? process.stdin : fs.createReadStream('/dev/tty');
  const rl = readline.createInterface({ input, output: process.stderr, terminal: true });
  // readline echoes through _writeToOutput; muting it after the question keeps the answer off the screen.
  const muted = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  let asked = false;
  muted._writeToOutput = (s: string) => {
    if (!asked) muted.output.write(s);
  };
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.question(question, (answer) => resolve(answer));
      asked = true;
      rl.on('SIGINT', () => reject(new OnecliError('E_USAGE', 'cancelled', 'nothing was changed')));
    });
  } finally {
    process.stderr.write('\n');
    rl.close();
    if (input !== process.stdin) (input as fs.ReadStream).destroy();
  }
}

/** The secret value: stdin when it is not a terminal, else a hidden prompt. Never argv. */
export async function readSecretValue(name: string): Promise<string> {
  const value = process.stdin.isTTY ? await promptHidden(`Value for ${JSON.stringify(name)} (input hidden): `) : await readStdin();
  if (value === '') {
    throw new OnecliError('E_EMPTY_VALUE', `the value for ${JSON.stringify(name)} is empty`, [
      'pipe the value on stdin, e.g. `printf %s "$KEY" | onecli secret add NAME`, or type it at the prompt',
    ]);
  }
  return value;
}

function hasTty(): boolean {
  if (process.stdin.isTTY) return true;
  try {
    fs.closeSync(fs.openSync('/dev/tty', 'r'));
    return true;
  } catch {
    return false;
  }
}

/**
 * The passphrase source commands hand to the library: ONECLI_PASSPHRASE unlocks; a new passphrase comes from
 * `newVar` (ONECLI_PASSPHRASE at init, ONECLI_NEW_PASSPHRASE at `rotate --master`), else a prompt typed twice.
 * Without a terminal and without the variable the answer is empty, which the library reports as E_BAD_PASSPHRASE.
 */
export function passphraseSource(newVar: 'ONECLI_PASSPHRASE' | 'ONECLI_NEW_PASSPHRASE', env: NodeJS.ProcessEnv = process.env) {
  return async (purpose: 'unlock' | 'new'): Promise<string> => {
    const fromEnv = env[purpose === 'unlock' ? 'ONECLI_PASSPHRASE' : newVar];
    if (fromEnv !== undefined) return fromEnv;
    if (!hasTty()) return '';
    if (purpose === 'unlock') return promptHidden('Vault passphrase: ');
    const first = await promptHidden('New passphrase: ');
    const second = await promptHidden('Repeat the new passphrase: ');
    if (first !== second) throw new OnecliError('E_BAD_PASSPHRASE', 'the two passphrases differ', 'run the command again and type the same passphrase twice');
    return first;
  };
}
