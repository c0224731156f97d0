/**
 * `tessera console login`: prints a one-time sign-in link to the web console (single use across
 * the cluster, valid five minutes). The link carries a token signed by the admin realm's key in its
 * URL fragment, so it never reaches a proxy's or the server's access log.
 */
import { Option, type Command } from 'commander';
import { hostname, userInfo } from 'node:os';
import { createLoginLink, LOGIN_LINK_TTL_SECONDS } from '../http/console/index.ts';
import { openRuntime } from './runtime.ts';

function defaultSubject(): string {
  let user = 'operator';
  try {
    user = userInfo().username || user;
  } catch {
    // no passwd entry (containers): keep the generic name
  }
  return `${user}@${hostname()}`;
}

export function consoleCommand(program: Command): void {
  const cmd = program.command('console').description('the web console (/console)');
  cmd
    .command('login')
    .description(`print a one-time sign-in link to the web console (single use, valid ${LOGIN_LINK_TTL_SECONDS / 60} minutes)`)
    .addOption(new Option('-c, --config <file>', 'configuration file (YAML or JSON); env TESSERA_CONFIG'))
    .option('--user <name>', 'who signs in (shown in the console and recorded in the audit trail)')
    .option('--scope <scopes>', 'admin scopes of the session (space separated)', 'tessera:admin')
    .option('--base-url <url>', 'the URL the console is reached at (default: the admin listener when configured, else the issuer)')
    .action(async (o: { config?: string; user?: string; scope: string; baseUrl?: string }) => {
      const rt = await openRuntime(o.config, { bootstrap: false });
      try {
        const { config, server } = rt;
        await server.keys.init({ create: true }); // the admin realm needs a key to sign the link
        let base = o.baseUrl;
        if (base === undefined && config.admin.listen) {
          const { host, port } = config.admin.listen;
          const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
          base = `http://${h}:${port}`;
        }
        if (base !== undefined && !/^https?:\/\/[^/]+/.test(base)) throw new TypeError(`--base-url: not an http(s) URL: ${base}`);
        const link = await createLoginLink(server, { subject: o.user ?? defaultSubject(), scope: o.scope, ...(base !== undefined ? { baseUrl: base } : {}) });
        process.stdout.write(link.url + '\n');
        process.stderr.write(`Open this link in a browser before ${new Date(link.expiresAt).toISOString()}; it works once.\n`);
      } finally {
        await rt.close();
      }
    });
}
