// The control driver: runs `iris qlist|start|stop|force` (the real command or the emulator) with
// execFile, a fixed argv, no shell and a timeout; state is confirmed with qlist, never exit codes.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Run argv[0] with the rest as arguments; never throws for a non-zero exit or a timeout. */
export function runCommand(argv: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, shell: false, windowsHide: true, ...(signal ? { signal } : {}) },
      (err, stdout, stderr) => {
        if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
        if (e && typeof e.code === 'string') return reject(e); // ENOENT, EACCES: the command itself is wrong
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout: String(stdout), stderr: String(stderr), timedOut: Boolean(e?.killed) });
      },
    );
  });
}

export interface QlistEntry {
  name: string;
  installDir: string;
  version: string;
  state: 'running' | 'down' | 'unknown';
  /** Field 4 as printed ("running, since ..."). */
  stateText: string;
  cpfFile: string;
  superserverPort: number | null;
  webPort: number | null;
  health: string;
}

/** One qlist line; older versions print fewer fields, so every field is optional. */
export function parseQlistLine(line: string): QlistEntry | undefined {
  const f = line.trim().split('^');
  if (f.length < 4 || !f[0]) return undefined;
  const stateText = f[3] ?? '';
  const num = (s: string | undefined): number | null => (s && /^\d+$/.test(s) ? Number(s) : null);
  return {
    name: f[0],
    installDir: f[1] ?? '',
    version: f[2] ?? '',
    state: stateText.startsWith('running') ? 'running' : stateText.startsWith('down') ? 'down' : 'unknown',
    stateText,
    cpfFile: f[4] ?? '',
    superserverPort: num(f[5]),
    webPort: num(f[6]),
    health: f[8] ?? '',
  };
}

export interface IrisControlOptions {
  /** argv prefix: the iris command (or the emulator with its state dir). */
  command: readonly string[];
  /** Instance name as qlist prints it. */
  irisName: string;
  commandTimeoutMs: number;
}

export class IrisControl {
  constructor(private readonly o: IrisControlOptions) {}

  private run(verb: string[], timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    return runCommand([...this.o.command, ...verb], timeoutMs, signal);
  }

  async qlist(signal?: AbortSignal): Promise<QlistEntry | undefined> {
    const r = await this.run(['qlist', this.o.irisName], this.o.commandTimeoutMs, signal);
    if (r.timedOut) throw new Error(`iris qlist did not answer within ${this.o.commandTimeoutMs} ms`);
    for (const line of r.stdout.split(/\r?\n/)) {
      const e = parseQlistLine(line);
      if (e && e.name.toUpperCase() === this.o.irisName.toUpperCase()) return e;
    }
    return undefined;
  }

  start(timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    return this.run(['start', this.o.irisName], timeoutMs, signal);
  }

  /** Always `quietly`: without it `iris stop` asks questions on the terminal. */
  stop(timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    return this.run(['stop', this.o.irisName, 'quietly'], timeoutMs, signal);
  }

  force(timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    return this.run(['force', this.o.irisName], timeoutMs, signal);
  }
}

/** TCP connect to 127.0.0.1:port (the superserver) within timeoutMs. */
export function tcpCheck(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** GET http://host:port/path answers 2xx within timeoutMs. */
export async function httpCheck(host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
