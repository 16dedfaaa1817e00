import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../../support/cli.js';

/**
 * Child processes in these tests must run the real src/vault/vault-file.ts, not a copy of its logic, and cannot rely
 * on dist/ existing. So the few source files it needs are transpiled into a folder under node_modules/.cache, where
 * Node resolves `proper-lockfile` from the project's node_modules like the built CLI does.
 */
export interface CompiledModules {
  /** absolute path of the compiled vault-file.js, for `import()` in a child script */
  vaultFile: string;
  dir: string;
  cleanup(): void;
}

const SOURCES = ['src/errors.ts', 'src/home.ts', 'src/vault/vault-file.ts'];

export function compileVaultFile(): CompiledModules {
  const cache = path.join(ROOT, 'node_modules', '.cache');
  fs.mkdirSync(cache, { recursive: true });
  const dir = fs.mkdtempSync(path.join(cache, 'onecli-vault-file-'));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  for (const source of SOURCES) {
    const output = ts.transpileModule(fs.readFileSync(path.join(ROOT, source), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, esModuleInterop: true, verbatimModuleSyntax: true },
      fileName: source,
    });
    const target = path.join(dir, source.replace(/^src\//, '').replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, output.outputText);
  }
  return { vaultFile: path.join(dir, 'vault', 'vault-file.js'), dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
