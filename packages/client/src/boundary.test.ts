/**
 * Import boundary of the two published entry points: `tessera/client` and
 * `tessera/resource-server` never reach into server code and carry no database driver.
 *
 * Every file under src/client and src/resource-server (tests included) must not import from
 * src/core, src/http or src/storage, nor name a database driver. Non-test modules are held to an
 * allow-list: their own folder, src/shared/oauth.ts, jose and node built-ins (plus type-only
 * imports of the frameworks the adapters plug into).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const SRC = resolve(dirname(SELF), '../..'); // packages/
const ENTRY_FOLDERS = ['client/src', 'resource-server/src'];
const FORBIDDEN_FOLDERS = ['server/src/core', 'server/src/http', 'server/src/storage', 'server/src/cli'];
const DB_DRIVERS = [
  'better-sqlite3', 'sqlite3', 'sqlite', 'node:sqlite', 'postgres', 'pg', 'pg-promise', 'mysql', 'mysql2', 'mariadb',
  'ioredis', 'redis', '@redis/client', 'mongodb', 'mongoose', 'knex', 'typeorm', '@prisma/client', 'drizzle-orm', 'sequelize', 'tedious', 'oracledb',
];
const SHARED_OAUTH = join(SRC, 'server', 'src', 'shared', 'oauth.ts');
const ALLOWED_PACKAGES = ['jose'];
// Optional peer dependencies, loaded with a literal import() only when installed.
const OPTIONAL_PACKAGES = ['@opentelemetry/api'];
const ALLOWED_TYPE_ONLY_PACKAGES = ['express', 'fastify', 'koa', 'hono', '@nestjs/common'];
/** The NestJS guard must throw Nest's own HttpException; it lives in its own entry (./nest). */
const RUNTIME_ADAPTER_IMPORTS: Record<string, string[]> = { [join('resource-server', 'src', 'nest.ts')]: ['@nestjs/common'] };
/** Optional packages loaded by a computed specifier (so bundlers leave them out), one module each. */
const COMPUTED_IMPORT_MODULES = [join('resource-server', 'src', 'telemetry.ts')];

interface ImportRef {
  specifier: string;
  typeOnly: boolean;
  /** `import('x')` or `require('x')` rather than a static import. */
  dynamic?: boolean;
}

/** Import specifiers of a module: static imports/exports, side-effect imports, dynamic import() and require(). */
function importsOf(source: string): ImportRef[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  const refs: ImportRef[] = [];
  const staticForm = /(?:^|[;\s])(?:import|export)(\s+type)?\s+(?:[^'";]*?\s+from\s+)?['"]([^'"\n]+)['"]/g;
  for (const m of code.matchAll(staticForm)) refs.push({ specifier: m[2]!, typeOnly: Boolean(m[1]) });
  for (const m of code.matchAll(/\b(?:import|require)\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g)) refs.push({ specifier: m[1]!, typeOnly: false, dynamic: true });
  return refs;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : /\.(ts|mts|cts|js|mjs|cjs|json)$/.test(name) ? [path] : [];
  });
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Problems with one import of `file` (empty when fine). */
function violations(file: string, ref: ImportRef): string[] {
  const where = `${relative(SRC, file)} imports '${ref.specifier}'`;
  const problems: string[] = [];
  const isRelative = ref.specifier.startsWith('.') || ref.specifier.startsWith('/');
  const target = isRelative ? resolve(dirname(file), ref.specifier) : undefined;
  const isTest = file.endsWith('.test.ts');

  if (target) {
    for (const folder of FORBIDDEN_FOLDERS) {
      const root = join(SRC, folder);
      if (target === root || target.startsWith(root + sep)) problems.push(`${where}: server code (packages/${folder})`);
    }
  } else if (DB_DRIVERS.includes(ref.specifier) || DB_DRIVERS.includes(packageName(ref.specifier))) {
    problems.push(`${where}: database driver`);
  }
  if (isTest || problems.length > 0) return problems;

  const ownFolder = join(SRC, relative(SRC, file).split(sep)[0]!);
  if (target) {
    if (target !== SHARED_OAUTH && !target.startsWith(ownFolder + sep)) problems.push(`${where}: outside its own package and packages/server/src/shared/oauth.ts`);
  } else if (!ref.specifier.startsWith('node:')) {
    const name = packageName(ref.specifier);
    const allowed =
      ALLOWED_PACKAGES.includes(name) ||
      (ref.typeOnly && ALLOWED_TYPE_ONLY_PACKAGES.includes(name)) ||
      (ref.dynamic && OPTIONAL_PACKAGES.includes(name)) ||
      (RUNTIME_ADAPTER_IMPORTS[relative(SRC, file)] ?? []).includes(name);
    if (!allowed) problems.push(`${where}: package not allowed at runtime in an SDK entry point`);
  }
  return problems;
}

describe('import boundary of @tessera-auth/client and @tessera-auth/resource-server', () => {
  // This file is the checker: its sample violations below are data, not imports.
  const files = ENTRY_FOLDERS.flatMap((folder) => walk(join(SRC, folder))).filter((file) => file !== SELF);

  it('finds the entry points and their modules', () => {
    for (const folder of ENTRY_FOLDERS) assert.ok(files.includes(join(SRC, folder, 'index.ts')), `${folder}/index.ts exists`);
    assert.ok(files.length > 10);
  });

  it('no file imports server code or a database driver; modules stay on the allow-list', () => {
    const problems = files.flatMap((file) => importsOf(readFileSync(file, 'utf8')).flatMap((ref) => violations(file, ref)));
    assert.deepEqual(problems, []);
  });

  it('no module loads code through a computed specifier', () => {
    const computed = files
      .filter((file) => !file.endsWith('.test.ts') && !COMPUTED_IMPORT_MODULES.includes(relative(SRC, file)))
      .filter((file) => /\b(?:import|require)\s*\(\s*[^'"\s)]/.test(readFileSync(file, 'utf8')));
    assert.deepEqual(computed.map((f) => relative(SRC, f)), []);
  });

  it('the checker itself catches violations', () => {
    const sample = [
      "import { x } from '../../server/src/core/tokens/index.ts';",
      "export { y } from '../../server/src/http/routes/token.ts';",
      "import Database from 'better-sqlite3';",
      "const sql = await import('postgres');",
      "import type { Redis } from 'ioredis';",
      "import express from 'express';",
      "import { z } from '../../resource-server/src/index.ts';",
      '// import { ignored } from "../storage/memory.ts";',
      "import { trace } from '@opentelemetry/api';",
      "const otel = await import('@opentelemetry/api');",
    ].join('\n');
    const file = join(SRC, 'client', 'src', 'sample.ts');
    const found = importsOf(sample).flatMap((ref) => violations(file, ref));
    assert.equal(found.length, 8, found.join('\n')); // the static OpenTelemetry import is one; the dynamic one is allowed
    assert.deepEqual(
      importsOf("import type { Request } from 'express';\nimport {\n  a,\n  b,\n} from './a.ts';\nimport './side.ts';"),
      [
        { specifier: 'express', typeOnly: true },
        { specifier: './a.ts', typeOnly: false },
        { specifier: './side.ts', typeOnly: false },
      ],
    );
  });
});
