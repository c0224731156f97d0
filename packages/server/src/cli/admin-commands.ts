/**
 * Local admin commands of issue 9 (on the configured storage, through server.admin, audited as
 * `cli:<os user>`): clients update / revoke-tokens / add-key / remove-key / check-jwks, tokens
 * revoke, audit verify / list / export, failures list. The remote `--url` mode lives elsewhere.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_REALM } from '../core/config/index.ts';
import type { Actor } from '../core/admin/types.ts';
import { openRuntime, type Runtime } from './runtime.ts';
import { EXIT } from './exit.ts';

const print = (value: unknown): void => void process.stdout.write(JSON.stringify(value, null, 2) + '\n');

/** The actor of a local CLI command, for the audit trail. */
export function cliActor(): Actor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers)
  }
  return { id: `cli:${process.env.USER ?? user}` };
}

async function withAdmin<T>(configFile: string | undefined, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openRuntime(configFile, { bootstrap: false });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

function wholeNumber(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new TypeError(`${name}: a whole number, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

export function registerAdminCommands(program: Command): void {
  const configOpt = () => new Option('-c, --config <file>', 'configuration file (YAML or JSON); env TESSERA_CONFIG');
  const realmOpt = () => new Option('-r, --realm <name>', 'realm').default(DEFAULT_REALM);
  const clients = program.commands.find((c) => c.name() === 'clients') ?? program.command('clients');

  clients
    .command('update <client_id>')
    .description('change a client with a JSON Merge Patch (RFC 7386) read from a file (YAML or JSON)')
    .addOption(configOpt())
    .addOption(realmOpt())
    .requiredOption('--patch <file>', 'the merge patch')
    .option('--if-version <version>', 'refuse if the client changed since this version')
    .action((id, o) =>
      withAdmin(o.config, async (rt) => {
        const text = readText(o.patch);
        const patch = o.patch.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
        print(await rt.server.admin.updateClient(cliActor(), o.realm, id, patch, { ifVersion: o.ifVersion }));
      }),
    );
  clients
    .command('revoke-tokens <client_id>')
    .description('make every token issued to the client so far inactive (per-client not-before)')
    .addOption(configOpt())
    .addOption(realmOpt())
    .action((id, o) => withAdmin(o.config, async (rt) => print(await rt.server.admin.revokeClientTokens(cliActor(), o.realm, id))));
  clients
    .command('add-key <client_id>')
    .description('add a public key: a JWK, a JWK Set, a PEM public key or an X.509 certificate (PEM) file')
    .addOption(configOpt())
    .addOption(realmOpt())
    .requiredOption('--file <file>', 'the key file')
    .action((id, o) => withAdmin(o.config, async (rt) => print(await rt.server.admin.addClientKey(cliActor(), o.realm, id, readText(o.file)))));
  clients
    .command('remove-key <client_id> <kid>')
    .addOption(configOpt())
    .addOption(realmOpt())
    .action((id, kid, o) => withAdmin(o.config, async (rt) => print(await rt.server.admin.removeClientKey(cliActor(), o.realm, id, kid))));
  clients
    .command('check-jwks <client_id>')
    .description("fetch the client's jwks_uri now and report its keys, or why it failed")
    .addOption(configOpt())
    .addOption(realmOpt())
    .option('--uri <url>', 'check this URL instead of the registered one')
    .action((id, o) =>
      withAdmin(o.config, async (rt) => {
        const r = await rt.server.admin.checkJwksUri(cliActor(), o.realm, id, o.uri);
        print(r);
        if (!r.ok) process.exitCode = EXIT.checkFailed;
      }),
    );

  const tokens = program.command('tokens').description('revoke access tokens');
  tokens
    .command('revoke <jti>')
    .description('revoke one access token by its jti')
    .addOption(configOpt())
    .addOption(realmOpt())
    .option('--expires-at <seconds>', 'keep the revocation until then (default: now + the longest token lifetime)', wholeNumber('--expires-at'))
    .action((jti, o) =>
      withAdmin(o.config, async (rt) => {
        await rt.server.admin.revokeToken(cliActor(), o.realm, jti, o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {});
        print({ revoked: jti });
      }),
    );

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('check the hash chain; exits 12 and names the first broken link when it is not intact')
    .addOption(configOpt())
    .action((o) =>
      withAdmin(o.config, async (rt) => {
        const r = await rt.server.admin.verifyAudit(cliActor());
        print(r);
        if (!r.ok) process.exitCode = EXIT.checkFailed;
      }),
    );
  const filters = (c: Command) =>
    c
      .addOption(configOpt())
      .option('--realm <name>', 'only this realm')
      .option('--client <client_id>', 'only this client')
      .option('--type <type>', 'only this type (a trailing .* matches a prefix, e.g. client.*)')
      .option('--since <time>', 'from this time (ISO 8601 or seconds)')
      .option('--until <time>', 'until this time (ISO 8601 or seconds)')
      .option('--after <seq>', 'events after this seq', wholeNumber('--after'));
  const query = (o: Record<string, string | number | undefined>) => ({
    realm: o.realm as string | undefined,
    client_id: o.client as string | undefined,
    type: o.type as string | undefined,
    since: toSeconds(o.since as string | undefined, '--since'),
    until: toSeconds(o.until as string | undefined, '--until'),
    after: o.after as number | undefined,
  });
  filters(audit.command('list').description('events as JSON, oldest first'))
    .option('--limit <n>', 'at most n events (1-1000)', wholeNumber('--limit'), 100)
    .action((o) => withAdmin(o.config, async (rt) => print(await rt.server.admin.listAudit(cliActor(), { ...query(o), limit: o.limit }))));
  filters(audit.command('export').description('every matching event as JSON lines, oldest first')).action((o) =>
    withAdmin(o.config, async (rt) => {
      for await (const line of rt.server.admin.exportAudit(cliActor(), query(o))) process.stdout.write(line);
    }),
  );

  program
    .command('failures')
    .description('recorded authentication failures of a realm, newest first, with a hint per reason')
    .addOption(configOpt())
    .addOption(realmOpt())
    .option('--client <client_id>', 'only this client id')
    .option('--limit <n>', 'at most n (1-500)', wholeNumber('--limit'), 100)
    .action((o) => withAdmin(o.config, async (rt) => print(await rt.server.admin.listFailures(cliActor(), o.realm, { client_id: o.client, limit: o.limit }))));
}

function toSeconds(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new TypeError(`${name}: an ISO 8601 time or seconds since the epoch, got ${JSON.stringify(v)}`);
  return t / 1000;
}
