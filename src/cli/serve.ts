// `shield-mcp serve`: start the app on stdio or HTTP and stop cleanly on SIGINT/SIGTERM.
import { startApp } from '../app.js';
import { serveHttp } from '../transports/http.js';
import { serveStdio } from '../transports/stdio.js';
import type { CommandContext } from './commands.js';

export async function serveCommand({ config, env }: CommandContext): Promise<number> {
  const app = await startApp({ config, env });
  const log = app.services.logger;
  const handle =
    config.server.transport === 'http'
      ? await serveHttp(app, { host: config.server.host, port: config.server.port })
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
