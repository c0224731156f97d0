/** Versioned SQL migrations shipped beside an adapter as `migrations/NNN_name.sql`. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d+)_(\w+)\.sql$/;

/** Reads a migrations folder, ordered by version; two files with one version are an error. */
export function loadMigrations(dir: URL, backend: string): Migration[] {
  const path = fileURLToPath(dir);
  const migrations: Migration[] = [];
  for (const file of readdirSync(path)) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) continue;
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) throw new Error(`duplicate ${backend} migration version ${version}`);
    migrations.push({ version, name: match[2]!, sql: readFileSync(join(path, file), 'utf8') });
  }
  return migrations.sort((a, b) => a.version - b.version);
}
