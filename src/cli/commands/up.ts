import type { Command } from 'commander';
import { globalOptions, platformOptions } from '../context.ts';
import { ModelwatchError } from '../../common/errors.ts';
import { isLoopbackHost } from '../../common/loopback.ts';
import type { Platform } from '../../project/platform.ts';
import { BODY_LIMITS, REST_TIMEOUTS, SHUTDOWN_DEADLINE_MS } from '../../common/limits.ts';
import { UsageError } from '../errors.ts';
import { collect, shutdownSeconds, uploadMegabytes, wholeNumber } from '../parse.ts';

/** What `--code-root` means, for `up` and `worker`. */
export const CODE_ROOT_HELP =
  'a folder whose modules (model classes, monitoring apps) functions may load; repeatable; default: the working folder. ' +
  'Code outside the roots, in the home folder or the artifact path (uploads), under node_modules or in dot folders is refused';

/** `up`: the REST server and the supervisor of deployed functions, until SIGINT/SIGTERM. */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run the server (REST API) and every deployed function, supervised; off this machine (--host) only with API tokens (`modelwatch tokens`)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free port)', (v: string) => (v === '0' ? 0 : wholeNumber(v)), 8080)
    .option('--no-workers', 'serve the API only; run functions with `modelwatch worker` elsewhere')
    .option('--log-requests', 'log one line per request')
    .option(
      '--max-upload-mb <n>',
      'largest body of a model upload with its training set (POST /models/:key), in MiB; other REST bodies take 1 MiB, inference bodies 8 MiB',
      uploadMegabytes,
      BODY_LIMITS.uploadBytes / MIB,
    )
    .option(
      '--shutdown-timeout-seconds <s>',
      'on SIGTERM/SIGINT, how long the API and each serving function get to answer the requests in flight (and flush tracking) before what is left is cut off',
      shutdownSeconds,
      SHUTDOWN_DEADLINE_MS / 1000,
    )
    .option('--code-root <dir>', CODE_ROOT_HELP, collect, [])
    .action(async (o: { host: string; port: number; workers: boolean; logRequests?: boolean; maxUploadMb: number; shutdownTimeoutSeconds: number; codeRoot: string[] }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (g.url) throw new UsageError('up starts a server; --url is for talking to one');
      if (g.tokenFile) throw new UsageError('up takes no token: it checks the API tokens in its store (`modelwatch tokens`); --token-file is for commands sent to a server with --url');
      const [{ Platform }, { createServer }, { Supervisor }, { cliLogger }] = await Promise.all([
        import('../../project/platform.ts'),
        import('../../server/app.ts'),
        import('../../server/supervisor.ts'),
        import('../logger.ts'),
      ]);
      const logger = cliLogger('info');
      const codeRoots = o.codeRoot.length ? o.codeRoot : [process.cwd()];
      const platform = await Platform.open({ ...platformOptions(g), codeRoots, logger });
      let auth: string;
      try {
        auth = await authentication(platform, o.host);
      } catch (err) {
        await platform.close();
        throw err;
      }
      const shutdownMs = Math.round(o.shutdownTimeoutSeconds * 1000);
      const maxUploadBytes = Math.round(o.maxUploadMb * MIB);
      // The request timeout leaves an upload of the largest body at least 256 KiB/s.
      const timeouts = { requestMs: Math.max(REST_TIMEOUTS.requestMs, Math.ceil(maxUploadBytes / (256 * 1024)) * 1000) };
      const app = createServer({ platform, maxUploadBytes, timeouts, logger, requestLogging: o.logRequests ?? false });
      const supervisor = o.workers ? new Supervisor(platform, { workerShutdownMs: shutdownMs }) : undefined;
      try {
        await app.listen({ host: o.host, port: o.port });
      } catch (err) {
        await platform.close();
        throw err;
      }
      supervisor?.start();
      // Up means deploys are run: the supervisor holds its lease before this says so.
      await supervisor?.firstPass;
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : o.port;
      const host = o.host.includes(':') ? `[${o.host}]` : o.host;
      process.stdout.write(`modelwatch is up at http://${host}:${port} (home ${platform.options.home})\n`);
      process.stdout.write(`code is loaded only from: ${String(platform.codeRoots)}\n`);
      process.stdout.write(`${auth}\n`);

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (sig: string): void => {
          if (stopping) {
            process.stderr.write('second signal: exiting now\n');
            process.exit(130);
          }
          stopping = true;
          logger.info({ signal: sig }, 'shutting down');
          void (async () => {
            // The API first (its requests may need the workers, an invoke say), then every worker,
            // each answering its own requests in flight within the deadline.
            const { closeGracefully } = await import('../../common/http-server.ts');
            const { cutConnections } = await closeGracefully(app, { deadlineMs: shutdownMs });
            if (cutConnections > 0) logger.warn({ connections: cutConnections }, 'requests still open at the shutdown deadline were cut off');
            await supervisor?.stop();
            await platform.close();
            resolve();
          })();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      process.stdout.write('modelwatch stopped\n');
    });
}

const MIB = 1024 * 1024;

/**
 * Seals secrets an earlier version stored in the clear, then says whether the API checks tokens
 * (a line for the banner). A host beyond this machine while the store holds no usable token is
 * refused, with how to make the first one.
 */
async function authentication(platform: Platform, host: string): Promise<string> {
  const sealed = await platform.secrets.sealPlaintext();
  if (sealed.credentials + sealed.functions > 0) platform.logger.info(sealed, 'encrypted the secrets an earlier version stored in the clear');
  const tokens = await platform.store.listTokens();
  const active = tokens.filter((t) => t.revokedAt === null).length;
  if (!isLoopbackHost(host) && active === 0) {
    throw new ModelwatchError(
      'auth_required',
      `refusing to listen on ${host}: anyone who can reach it could read and change every project, and this store holds no API token. ` +
        `Create the first admin token (it is printed once) with the same home, then start again:\n` +
        `  modelwatch tokens create --role admin --name <your name> --home ${platform.options.home}\n` +
        'Clients send theirs from MODELWATCH_TOKEN or a file given with --token-file.',
    );
  }
  if (tokens.length === 0) return 'authentication: off (no API token in this store, so only this machine may connect; create one with `modelwatch tokens create --role admin`)';
  return `authentication: on (${active} active API token${active === 1 ? '' : 's'})`;
}
