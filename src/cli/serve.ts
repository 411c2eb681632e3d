// `shield-mcp serve`: start the app on stdio or HTTP and stop cleanly on SIGINT/SIGTERM.
import { startApp } from '../app.js';
import { createFixturesServer } from '../conformance/fixtures.js';
import { serveHttp } from '../transports/http.js';
import { assertAuthBinding, createHttpAuth } from '../transports/auth/authenticator.js';
import { serveStdio } from '../transports/stdio.js';
import type { CommandContext } from './commands.js';

export async function serveCommand({ config, env }: CommandContext): Promise<number> {
  // Refuse an unauthenticated remote bind before anything is opened; stdio stays unauthenticated.
  if (config.server.transport === 'http') assertAuthBinding(config);
  const app = await startApp({ config, env });
  const log = app.services.logger;
  const auth = config.server.transport === 'http' ? createHttpAuth(config, { logger: log }) : undefined;
  const handle =
    auth
      ? await serveHttp(app, {
          host: config.server.host,
          port: config.server.port,
          ...(auth.authenticator ? { authenticator: auth.authenticator } : {}),
          serverOptions: { visibleTools: auth.visibleTools },
          // Conformance fixtures mode: the suite's fixture tools instead of the Shield inventory.
          ...(config.server.http.fixtures ? { serverFactory: () => createFixturesServer(app) } : {}),
        })
      : await serveStdio(app);

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
