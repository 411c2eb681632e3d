// `shield-mcp serve`: start the app on stdio or HTTP and stop cleanly on SIGINT/SIGTERM.
import { startApp, type App, type StartAppOptions } from '../app.js';
import type { Config } from '../config/schema.js';
import type { CommandContext } from './context.js';

/** HTTP and its auth load only when serving HTTP: stdio start-up stays lean. */
async function serveOverHttp(app: App, config: Config) {
  const [{ serveHttp }, { createHttpAuth }] = await Promise.all([import('../transports/http.js'), import('../transports/auth/authenticator.js')]);
  const auth = createHttpAuth(config, { logger: app.services.logger });
  return serveHttp(app, {
    host: config.server.host,
    port: config.server.port,
    ...(auth.authenticator ? { authenticator: auth.authenticator } : {}),
    serverOptions: { visibleTools: auth.visibleTools },
  });
}

/** `extra` is for test entry points (crash-test hooks); the CLI never passes it. */
export async function serveCommand({ config, env }: CommandContext, extra: Pick<StartAppOptions, 'remediationHooks'> = {}): Promise<number> {
  // Refuse an unauthenticated remote bind before anything is opened; stdio stays unauthenticated.
  if (config.server.transport === 'http') (await import('../transports/auth/authenticator.js')).assertAuthBinding(config);
  const app = await startApp({ config, env, ...extra });
  const log = app.services.logger;
  const handle =
    config.server.transport === 'http' ? await serveOverHttp(app, config) : await (await import('../transports/stdio.js')).serveStdio(app);

  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'stopping');
    await handle.close();
  };
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stop(sig).then(resolve));
    if ('closed' in handle) void handle.closed.then(() => stop('stdin closed')).then(resolve);
  });
  return 0;
}
