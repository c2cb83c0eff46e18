import os from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { ROLES, isRole, type Role } from '../../auth/tokens.ts';
import { withClient } from '../context.ts';
import { printJson, printTable, time } from '../output.ts';

/**
 * `tokens create|list|revoke`: per-person API tokens. Without --url they act on the home (or store)
 * directly, which is how the first admin token is made: whoever can open the home needs none.
 */
export function registerTokenCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .description(
      `API tokens, one per person or service (roles: viewer reads; invoker calls serving functions; editor changes configs, deploys and invokes; ` +
        `admin also manages credentials and tokens). Without --url they act on the home directly: that is how the first admin token is made`,
    );

  tokens
    .command('create')
    .description('create a token and print it, this once (only its hash is stored)')
    .requiredOption('--role <role>', ROLES.join('|'), role)
    .option('--name <name>', 'whose token it is', os.userInfo().username)
    .option('--project <name>', 'the one project the token reaches (default: every project)')
    .option('--json', 'print the token and its record as JSON')
    .action(async (o: { role: Role; name: string; project?: string; json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const t = await client.createToken({ name: o.name, role: o.role, ...(o.project ? { project: o.project } : {}) });
        if (o.json) return printJson(t);
        process.stdout.write(`${t.token}\n`);
        process.stderr.write(
          `token ${t.id} for '${t.name}' (${t.role}${t.project ? `, project ${t.project}` : ', every project'}): keep it now, it is not shown again. ` +
            'Clients read it from MODELWATCH_TOKEN or a file (mode 0600) given with --token-file.\n',
        );
      });
    });

  tokens
    .command('list')
    .description('list tokens (never the tokens themselves), revoked ones too')
    .option('--project <name>', "only this project's tokens")
    .option('--json', 'print JSON')
    .action(async (o: { project?: string; json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const all = (await client.listTokens()).filter((t) => o.project === undefined || t.project === o.project);
        if (o.json) return printJson(all);
        printTable(
          all,
          [
            { header: 'id', get: (t) => t.id },
            { header: 'name', get: (t) => t.name },
            { header: 'role', get: (t) => t.role },
            { header: 'project', get: (t) => t.project ?? '(every)' },
            { header: 'created', get: (t) => time(t.createdAt) },
            { header: 'revoked', get: (t) => (t.revokedAt === null ? '' : time(t.revokedAt)) },
          ],
          '(no tokens: the server answers without one, on this machine only)',
        );
      });
    });

  tokens
    .command('revoke <id>')
    .description('revoke a token by its id (as `tokens list` shows it); refused from the next request on')
    .option('--json', 'print the revoked token as JSON')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const t = await client.revokeToken(id);
        if (o.json) return printJson(t);
        process.stdout.write(`revoked token ${t.id} of '${t.name}'\n`);
      });
    });
}

function role(value: string): Role {
  if (!isRole(value)) throw new InvalidArgumentError(`must be one of ${ROLES.join(', ')}`);
  return value;
}
