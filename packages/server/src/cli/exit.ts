/**
 * Operator mistakes → one line on stderr and a distinct exit code. Every command of the `tessera`
 * CLI ends through `reportFailure`: a known mistake (port taken, config syntax, database missing,
 * wrong client secret…) prints `tessera: <what is wrong>: <what to do>` and exits with its code;
 * only an unexpected error (a bug) prints a stack trace, with exit code 1.
 * The table of codes is documented in docs/cli.md; keep both in step.
 */
import { CommanderError, InvalidArgumentError } from 'commander';
import { AdminError, StorageUnavailableError } from '../core/errors/index.ts';

export const EXIT = {
  ok: 0,
  /** Unexpected error: a bug. The stack trace is printed. */
  internal: 1,
  /** An admin operation was refused: no such client or realm, id already taken, bad metadata. */
  refused: 2,
  /** Bad command line: unknown option or command, a value of the wrong form (`--limit abc`). */
  usage: 3,
  /** Configuration file unreadable, not valid YAML/JSON, or invalid values (file or environment). */
  config: 4,
  /** The server cannot listen: port already in use, or not allowed. */
  listen: 5,
  /** The database cannot be reached (after waiting `storage.wait_at_start` seconds). */
  storageUnreachable: 6,
  /** The database answered but refused us: database missing, authentication failed, no permission. */
  storageRefused: 7,
  /** The data directory (SQLite file, key-encryption key file) cannot be created or written. */
  dataDir: 8,
  /** `tessera token`: the server rejected the client's credentials (invalid_client). */
  tokenClient: 9,
  /** `tessera token`: the server refused the request for another reason (invalid_scope, …). */
  tokenRefused: 10,
  /** `tessera token`: the issuer cannot be reached or its metadata is unusable. */
  issuerUnreachable: 11,
  /** A check found a problem: `audit verify` (a broken link), `clients check-jwks` (the jwks_uri is unusable). */
  checkFailed: 12,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake the operator can fix: its one-line message and exit code. */
export class OperatorError extends Error {
  override readonly name = 'OperatorError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A commander argument parser for whole numbers in [min, max] (`--limit abc` is a usage error). */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`not a whole number (${min} to ${max})`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max}`);
    return n;
  };
}

const errno = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, '; ').trim();

/** File-system codes meaning "this place cannot be written by this process". */
const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'ENOSPC', 'EDQUOT', 'EEXIST']);

/** Wraps a file-system or SQLite failure on `path` as a data-directory mistake; others pass through. */
export function dataDirError(err: unknown, path: string, setting: string): unknown {
  // The SQLite adapter wraps its open failures (StorageUnavailableError with the fs or SQLite error as cause).
  const code = errno(err) ?? errno((err as { cause?: unknown } | null)?.cause);
  const sqliteCantOpen = code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM';
  if (!sqliteCantOpen && !(code && UNWRITABLE.has(code))) return err;
  const why = code === 'ENOSPC' || code === 'EDQUOT' ? 'no space left' : code === 'EROFS' ? 'read-only file system' : code === 'ENOTDIR' || code === 'EEXIST' ? 'a parent is not a directory' : 'permission denied';
  return new OperatorError(EXIT.dataDir, `cannot write ${path} (${why}): make its directory writable by this user, or point ${setting} elsewhere`, { cause: err });
}

/** PostgreSQL SQLSTATEs meaning the server answered but will not let us in. */
const PG_REFUSED: Record<string, string> = {
  '3D000': 'create the database (createdb) or fix the database name in storage.url',
  '28P01': 'fix the user name or password in storage.url',
  '28000': 'fix the user name or password in storage.url, or pg_hba.conf on the server',
  '42501': 'grant this user the rights to create tables in the schema, or pick another schema',
  '3F000': 'create the schema or fix ?schema= in storage.url',
};

/** Where a storage URL points, without its credentials. */
export function describeStorage(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol.replace(/:$/, '')} at ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the database';
  }
}

/** Classifies a database failure at start-up (after any waiting); other errors pass through. */
export function storageStartError(err: unknown, url: string): unknown {
  const where = describeStorage(url);
  const code = errno(err);
  if (code && PG_REFUSED[code]) return new OperatorError(EXIT.storageRefused, `${where} refused: ${oneLine((err as Error).message)}: ${PG_REFUSED[code]}`, { cause: err });
  if (err instanceof StorageUnavailableError) {
    const cause = (err.cause as Error | undefined)?.message ?? err.message;
    return new OperatorError(EXIT.storageUnreachable, `cannot reach ${where} (${oneLine(cause)}): start the database, check storage.url, or wait longer with storage.wait_at_start`, { cause: err });
  }
  return err;
}

/** Classifies a listen() failure. */
export function listenError(err: unknown, host: string, port: number): unknown {
  const code = errno(err);
  if (code === 'EADDRINUSE') return new OperatorError(EXIT.listen, `port ${port} on ${host} is already in use: stop the other process or choose another port (serve --port, TESSERA_PORT)`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new OperatorError(EXIT.listen, `not allowed to listen on ${host}:${port}: use a port above 1023 or grant the capability`, { cause: err });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new OperatorError(EXIT.listen, `cannot listen on ${host}: no such local address: fix listen.host (TESSERA_HOST)`, { cause: err });
  return err;
}

/** Classifies the client SDK's errors for `tessera token` (by name: the SDK is a separate package). */
export function tokenError(err: unknown, issuer: string): unknown {
  const name = (err as Error | null)?.name;
  if (name === 'TokenError') {
    const e = err as Error & { error: string; errorDescription?: string; status: number };
    const said = `${e.error}${e.errorDescription ? ` (${oneLine(e.errorDescription)})` : ''}`;
    if (e.error === 'invalid_client' || e.error === 'unauthorized_client') return new OperatorError(EXIT.tokenClient, `the server rejected the client: ${said}: check --client-id and the secret or key, and that the client is enabled`, { cause: err });
    if (e.error === 'invalid_scope') return new OperatorError(EXIT.tokenRefused, `the server refused the scope: ${said}: request only scopes the client is allowed (tessera clients show <id>)`, { cause: err });
    return new OperatorError(EXIT.tokenRefused, `the server refused the request: ${said}`, { cause: err });
  }
  if (name === 'DiscoveryError' || name === 'TransportError') {
    return new OperatorError(EXIT.issuerUnreachable, `cannot get a token from ${issuer}: ${oneLine((err as Error).message)}: check --issuer and that the server is running`, { cause: err });
  }
  return err;
}

/** Parse failures of a config file (YAML or JSON), with a hint for the `url: memory:` trap. */
export function configSyntaxError(err: unknown, path: string, text: string): OperatorError {
  const first = oneLine((err as Error).message.split('\n')[0] ?? String(err)).replace(/:$/, '');
  const hint = /:\s*memory:\s*$/m.test(text) ? " (write `url: memory`, or quote it: 'memory:')" : '';
  return new OperatorError(EXIT.config, `config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${first}${hint}: fix the file`, { cause: err });
}

/**
 * Prints the failure of a command and returns its exit code. Known mistakes get one line; help and
 * version (commander's "errors" with code 0) print nothing more.
 */
export function reportFailure(err: unknown, write: (s: string) => void = (s) => void process.stderr.write(s)): ExitCode | number {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return 0;
    if (err.code === 'commander.help') return EXIT.usage; // a command missing: its help went to stderr already
    const message = err.message.replace(/^error:\s*/, '');
    write(`tessera: ${oneLine(message)} (see tessera --help)\n`);
    return EXIT.usage;
  }
  if (err instanceof OperatorError) {
    write(`tessera: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof AdminError) {
    write(`tessera: ${oneLine(err.message)}\n`);
    return EXIT.refused;
  }
  if (err instanceof TypeError && !isBug(err)) {
    // Validation messages of the core (config values, option values): multi-line lists stay readable.
    write(`tessera: ${err.message}\n`);
    return /^(invalid configuration|config |TESSERA_|storage\.url)/.test(err.message) ? EXIT.config : EXIT.usage;
  }
  write(`tessera: unexpected error (a bug; please report it with this trace):\n${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.internal;
}

/** TypeErrors thrown by the JavaScript engine (property of undefined…) rather than by our checks. */
function isBug(err: TypeError): boolean {
  return /\b(is not a function|of undefined|of null|is not iterable|is not a constructor|Cannot (read|set|convert|destructure))\b/.test(err.message);
}
