// The emulator's state directory: a realistic iris.cpf (CRLF), mgr/messages.log, the run state and
// injected faults. Shared by the emulator executable, the demo and the tests.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatEntry } from '../messages-log.js';

export interface EmulatorFaults {
  /** `stop` takes this long before the instance goes down, in ms. */
  stop_delay_ms?: number;
  /** `start` takes this long, in ms. */
  start_delay_ms?: number;
  /** Every `start` fails (severe entries in messages.log, instance stays down). */
  start_fails?: boolean;
  /** `start` returns, qlist says running but health `warn` and the superserver never listens. */
  start_unhealthy?: boolean;
  /** What the active-users probe reports while the instance runs. */
  active_users?: Array<{ pid: number; user: string; namespace?: string; client?: string }>;
  /** CPF values refused at start-up (value: exactly this; above: any number greater). */
  reject_cpf?: Array<{ section: string; parameter: string; value?: string; above?: number }>;
  /** Fault entries written to messages.log right after a successful start. */
  log_on_start?: FaultKind[];
}

export const FAULT_KINDS = ['gmheap', 'license', 'journal_freeze'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface EmulatorInfo {
  name: string;
  version: string;
  jdbc_port: number;
}

export interface RunState {
  status: 'down' | 'running';
  /** Daemon pid while running. */
  pid: number | null;
  health: 'ok' | 'warn';
  since: string;
}

export const paths = (dir: string) => ({
  cpf: join(dir, 'iris.cpf'),
  log: join(dir, 'mgr', 'messages.log'),
  info: join(dir, 'emulator.json'),
  state: join(dir, 'state.json'),
  faults: join(dir, 'faults.json'),
});

/** The compiled emulator executable (dist/), whether this module runs from src/ or dist/. */
export function emulatorMain(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = resolve(here, '..', '..', '..', '..');
  return join(root, 'dist', 'providers', 'iris', 'emulator', 'main.js');
}

/** argv prefix that runs the emulator for a state dir; the control driver appends the verb. */
export function emulatorCommand(stateDir: string): string[] {
  return [process.execPath, emulatorMain(), '--state-dir', resolve(stateDir)];
}

export interface CreateStateOptions {
  name?: string;
  superserverPort: number;
  webPort?: number;
  gmheap?: number;
  version?: string;
  /** Fault entries already in messages.log (history before Shield looks at it). */
  history?: FaultKind[];
  faults?: EmulatorFaults;
}

const CPF_LINES = (o: Required<Pick<CreateStateOptions, 'name' | 'superserverPort' | 'gmheap' | 'version'>> & { webPort: number; dir: string }): string[] => [
  '[ConfigFile]',
  `Product=IRIS`,
  'Version=2024.1',
  '',
  '[Databases]',
  `IRISSYS=${o.dir}/mgr/`,
  `IRISLIB=${o.dir}/mgr/irislib/`,
  `USER=${o.dir}/mgr/user/`,
  '',
  '[Namespaces]',
  '%SYS=IRISSYS',
  'USER=USER',
  '',
  '[Map.USER]',
  'Package.Demo=USER',
  '',
  '[Startup]',
  `DefaultPort=${o.superserverPort}`,
  'ShutdownTimeout=300',
  'SystemMode=TEST',
  `WebServer=${o.webPort > 0 ? 1 : 0}`,
  `WebServerPort=${o.webPort}`,
  '',
  '[config]',
  'LibPath=',
  'MaxServerConn=1',
  'MaxServers=2',
  'Path=',
  'ZFSize=0',
  'ZFString=0',
  'bbsiz=-1',
  'console=,',
  'errlog=500',
  `globals=0,0,256,0,0,0`,
  `gmheap=${o.gmheap}`,
  'jrnbufs=64',
  'locksiz=16777216',
  'routines=80',
  'wijdir=',
  '',
  '[Journal]',
  `AlternateDirectory=${o.dir}/mgr/journal2/`,
  'BackupsBeforePurge=2',
  `CurrentDirectory=${o.dir}/mgr/journal/`,
  'DaysBeforePurge=2',
  'FileSizeLimit=1024',
  'FreezeOnError=0',
  '',
  '[Miscellaneous]',
  'EnableLongStrings=1',
  '',
  '[Telnet]',
  'Port=23',
  '',
];

/** Create (or reset) an emulated instance's state directory, down, with a CRLF iris.cpf. */
export function createEmulatorState(dir: string, o: CreateStateOptions): void {
  const p = paths(dir);
  mkdirSync(dirname(p.log), { recursive: true });
  const name = o.name ?? 'IRIS';
  const version = o.version ?? '2024.1.0.262.0';
  const cpf = CPF_LINES({ name, version, superserverPort: o.superserverPort, webPort: o.webPort ?? 0, gmheap: o.gmheap ?? 37568, dir: resolve(dir) });
  writeFileSync(p.cpf, cpf.join('\r\n'));
  writeJson(p.info, { name, version, jdbc_port: 62972 } satisfies EmulatorInfo);
  writeJson(p.state, { status: 'down', pid: null, health: 'ok', since: new Date().toISOString() } satisfies RunState);
  writeJson(p.faults, o.faults ?? {});
  const t = Date.now() - 3_600_000;
  const lines = [
    formatEntry({ severity: 0, category: 'Generic.Event', text: `Instance ${name} created by the IRIS emulator`, at: new Date(t) }),
    ...(o.history ?? []).map((k, i) => faultEntry(k, new Date(t + (i + 1) * 60_000))),
  ];
  writeFileSync(p.log, lines.join(''));
}

export function faultEntry(kind: FaultKind, at?: Date, pid?: number): string {
  const e = { at: at ?? new Date(), ...(pid !== undefined ? { pid } : {}) };
  switch (kind) {
    case 'gmheap':
      return formatEntry({
        ...e,
        severity: 2,
        category: 'Generic.Event',
        text: 'Failed to allocate 262144 bytes from the shared memory heap: gmheap exhausted (gmheap in [config] is too small); lock table and process table growth refused',
      });
    case 'license':
      return formatEntry({ ...e, severity: 2, category: 'Utility.Event', text: 'LMF Warning: License limit exceeded (5 of 5 license units in use); login refused' });
    case 'journal_freeze':
      return formatEntry({
        ...e,
        severity: 3,
        category: 'Generic.Event',
        text: 'Journal I/O error on /mgr/journal/20240101.001: journaled updates are FROZEN (FreezeOnError=1) until the journal directory is fixed',
      });
  }
}

export function writeJson(file: string, data: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, file);
}

export function readJson<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

export function setFaults(dir: string, faults: EmulatorFaults): void {
  writeJson(paths(dir).faults, faults);
}

export function appendLog(dir: string, text: string): void {
  appendFileSync(paths(dir).log, text);
}

export function pidAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    // A detached daemon whose parent is gone may linger as a zombie until it is reaped: that is dead.
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return true;
    }
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kill the emulator's daemon if it runs (tests and the demo clean up with this). */
export function killEmulator(dir: string): void {
  if (!existsSync(paths(dir).state)) return;
  const s = readJson<RunState>(paths(dir).state, { status: 'down', pid: null, health: 'ok', since: '' });
  if (s.pid && pidAlive(s.pid)) {
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  writeJson(paths(dir).state, { ...s, status: 'down', pid: null });
}
