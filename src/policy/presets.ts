import fs from 'node:fs';

/** A known provider: where its API lives and how it wants the key. Data in presets/providers.json. */
export interface Preset {
  name: string;
  title: string;
  hosts: string[];
  paths: string[];
  /** "Name: template" as `--header` takes it */
  header: string;
  env: string;
  note: string | null;
}

interface PresetJson {
  name: string;
  title: string;
  hosts: string[];
  paths?: string[];
  header: string;
  env: string;
  note?: string;
}

// dist/policy/presets.js and src/policy/presets.ts both sit two folders below the package root.
const PRESETS_FILE = new URL('../../presets/providers.json', import.meta.url);

let cache: Preset[] | undefined;

export function listPresets(): Preset[] {
  if (cache === undefined) {
    const data = JSON.parse(fs.readFileSync(PRESETS_FILE, 'utf8')) as { presets: PresetJson[] };
    cache = data.presets.map((p) => ({ ...p, paths: p.paths ?? [], note: p.note ?? null }));
  }
  return cache;
}

export function findPreset(name: string): Preset | undefined {
  return listPresets().find((preset) => preset.name === name);
}
