#!/usr/bin/env node
// The IRIS emulator: `iris qlist|start|stop|force` over a state directory, a detached daemon that
// listens on the superserver (and web) port while "running", messages.log entries in the real format
// and injected faults. A separate program like the real `iris`, so it prints to stdout.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpfDocument } from '../cpf.js';
import { formatEntry } from '../messages-log.js';
import {
  FAULT_KINDS,
  appendLog,
  faultEntry,
  paths,
  pidAlive,
  readJson,
  writeJson,
  type EmulatorFaults,
  type EmulatorInfo,
  type FaultKind,
  type RunState,
} from './state.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const out = (s: string): void => void process.stdout.write(`${s}\n`);

function usage(): never {
  process.stderr.write('usage: iris-emulator --state-dir DIR qlist [inst] | start <inst> | stop <inst> quietly | force <inst> | users <inst> | inject <kind>\n');
  process.exit(64);
}

interface Ctx {
  dir: string;
  info: EmulatorInfo;
  p: ReturnType<typeof paths>;
}

function loadState(c: Ctx): RunState {
  const s = readJson<RunState>(c.p.state, { status: 'down', pid: null, health: 'ok', since: new Date().toISOString() });
  // A daemon that died without cleaning up (killed) leaves the instance down.
  if (s.status === 'running' && !pidAlive(s.pid)) return { status: 'down', pid: null, health: 'ok', since: s.since };
  return s;
}

const faults = (c: Ctx): EmulatorFaults => readJson<EmulatorFaults>(c.p.faults, {});
const cpf = (c: Ctx): CpfDocument => CpfDocument.parse(readFileSync(c.p.cpf, 'utf8'));
const log = (c: Ctx, severity: number, category: string, text: string, pid?: number): void =>
  appendLog(c.dir, formatEntry({ severity, category, text, ...(pid !== undefined ? { pid } : {}) }));

function ctime(iso: string): string {
  const d = new Date(iso);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const t = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${t(d.getDate())} ${t(d.getHours())}:${t(d.getMinutes())}:${t(d.getSeconds())} ${d.getFullYear()}`;
}

function checkInstance(c: Ctx, inst: string | undefined): void {
  if (!inst || inst.toUpperCase() !== c.info.name.toUpperCase()) {
    out(`Instance '${inst ?? ''}' is not a configured instance.`);
    process.exit(1);
  }
}

function qlist(c: Ctx, inst?: string): number {
  if (inst && inst.toUpperCase() !== c.info.name.toUpperCase()) return 1;
  const s = loadState(c);
  const doc = cpf(c);
  const state = s.status === 'running' ? `running, since ${ctime(s.since)}` : `down, last used ${ctime(s.since)}`;
  const health = s.status === 'running' ? s.health : 'ok';
  out(
    [c.info.name, `${c.dir}/`, c.info.version, state, 'iris.cpf', doc.get('Startup', 'DefaultPort') ?? '1972', doc.get('Startup', 'WebServerPort') ?? '0', String(c.info.jdbc_port), health, 'IRIS', '', '', `${c.dir}/mgr/`].join('^'),
  );
  return 0;
}

/** Start-up validation of the CPF, as IRIS would refuse a bad value. */
function rejectedValue(c: Ctx, doc: CpfDocument): string | undefined {
  const gmheap = doc.get('config', 'gmheap');
  if (gmheap !== undefined && gmheap !== '0' && !(/^\d+$/.test(gmheap) && Number(gmheap) >= 16384 && Number(gmheap) <= 1073741760)) {
    return `Invalid value '${gmheap}' for gmheap in [config]`;
  }
  for (const r of faults(c).reject_cpf ?? []) {
    const v = doc.get(r.section, r.parameter);
    if (v === undefined) continue;
    if ((r.value !== undefined && v === r.value) || (r.above !== undefined && Number(v) > r.above)) {
      return `Invalid value '${v}' for ${r.parameter} in [${r.section}]: shared memory could not be allocated`;
    }
  }
  return undefined;
}

async function start(c: Ctx): Promise<number> {
  if (loadState(c).status === 'running') {
    out(`${c.info.name} is already running.`);
    return 1;
  }
  const f = faults(c);
  out(`Starting ${c.info.name}`);
  appendLog(c.dir, `*** Recovery started at ${ctime(new Date().toISOString())}\n`);
  log(c, 0, 'Generic.Event', `Starting ${c.info.name} (emulated) from ${c.p.cpf}`);
  if (f.start_delay_ms) await sleep(f.start_delay_ms);
  const doc = cpf(c);
  const rejected = rejectedValue(c, doc);
  if (rejected || f.start_fails) {
    const why = rejected ?? 'Startup failed: could not initialize the database environment (injected fault)';
    log(c, 3, 'Generic.Event', why);
    log(c, 3, 'Generic.Event', `${c.info.name} startup aborted; see the preceding errors`);
    out(`Start of ${c.info.name} failed. ${why}`);
    return 1;
  }
  const gmheap = Number(doc.get('config', 'gmheap') ?? '37568');
  const globals = (doc.get('config', 'globals') ?? '0,0,256,0,0,0').split(',').map(Number);
  const gb = globals.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  log(c, 0, 'Generic.Event', `Allocated ${gb + Math.ceil(gmheap / 1024) + 100}MB shared memory`);
  log(c, 0, 'Generic.Event', `${gb}MB global buffers, ${doc.get('config', 'routines') ?? '80'}MB routine buffers, ${doc.get('config', 'jrnbufs') ?? '64'}MB journal buffers, ${Math.ceil(gmheap / 1024)}MB heap`);
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, '--state-dir', c.dir, 'serve', c.info.name], { detached: true, stdio: 'ignore' });
  child.unref();
  for (let i = 0; i < 200; i++) {
    const s = loadState(c);
    if (s.status === 'running' && s.pid === child.pid) {
      if (s.health === 'ok') log(c, 0, 'Utility.Event', 'Enabling logons');
      else log(c, 2, 'Generic.Event', 'Superserver failed to start: logons disabled (injected fault)', child.pid);
      for (const k of f.log_on_start ?? []) appendLog(c.dir, faultEntry(k, undefined, child.pid));
      out(`${c.info.name} started.`);
      return 0;
    }
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  log(c, 3, 'Generic.Event', 'Startup failed: the control process did not come up');
  out(`Start of ${c.info.name} failed.`);
  return 1;
}

async function stop(c: Ctx, quietly: boolean): Promise<number> {
  if (!quietly) {
    out(`Do you want to broadcast a message to anyone using the system? No =>`);
    out('This emulator does not answer questions: use `stop <inst> quietly`.');
    return 1;
  }
  const s = loadState(c);
  if (s.status !== 'running') {
    out(`${c.info.name} is not running.`);
    return 1;
  }
  log(c, 0, 'Generic.Event', `Shutdown of ${c.info.name} requested (quietly)`);
  const f = faults(c);
  if (f.stop_delay_ms) await sleep(f.stop_delay_ms);
  await terminate(s.pid);
  log(c, 0, 'Generic.Event', `${c.info.name} shutdown complete`);
  writeJson(c.p.state, { status: 'down', pid: null, health: 'ok', since: new Date().toISOString() } satisfies RunState);
  out(`${c.info.name} shutdown complete.`);
  return 0;
}

async function terminate(pid: number | null): Promise<void> {
  if (!pid || !pidAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && pidAlive(pid); i++) await sleep(50);
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
}

function force(c: Ctx): number {
  const s = loadState(c);
  if (s.pid && pidAlive(s.pid)) process.kill(s.pid, 'SIGKILL');
  log(c, 1, 'Generic.Event', `${c.info.name} forced down`);
  writeJson(c.p.state, { status: 'down', pid: null, health: 'ok', since: new Date().toISOString() } satisfies RunState);
  out(`${c.info.name} forced down.`);
  return 0;
}

function users(c: Ctx): number {
  if (loadState(c).status !== 'running') return 0;
  for (const u of faults(c).active_users ?? []) out([u.pid, u.user, u.namespace ?? 'USER', u.client ?? ''].join('^'));
  return 0;
}

/** The daemon: holds the ports while the instance runs; exits on SIGTERM or when its dir vanishes. */
async function serve(c: Ctx): Promise<number> {
  const f = faults(c);
  const doc = cpf(c);
  const healthy = !f.start_unhealthy;
  const servers: Array<Server | HttpServer> = [];
  if (healthy) {
    const port = Number(doc.get('Startup', 'DefaultPort') ?? '1972');
    const tcp = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end();
    });
    await new Promise<void>((res, rej) => tcp.once('error', rej).listen(port, '127.0.0.1', () => res()));
    servers.push(tcp);
    const web = Number(doc.get('Startup', 'WebServerPort') ?? '0');
    if (doc.get('Startup', 'WebServer') === '1' && web > 0) {
      const http = createHttpServer((req, res) => {
        if (req.url?.startsWith('/api/mgmnt')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
        } else res.writeHead(404).end();
      });
      await new Promise<void>((res, rej) => http.once('error', rej).listen(web, '127.0.0.1', () => res()));
      servers.push(http);
    }
  }
  writeJson(c.p.state, { status: 'running', pid: process.pid, health: healthy ? 'ok' : 'warn', since: new Date().toISOString() } satisfies RunState);
  await new Promise<void>((res) => {
    process.once('SIGTERM', () => res());
    const watchdog = setInterval(() => {
      if (!existsSync(c.p.state)) res();
    }, 1000);
    watchdog.unref();
  });
  for (const s of servers) s.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] !== '--state-dir' || !argv[1]) usage();
  const dir = resolve(argv[1]);
  const p = paths(dir);
  if (!existsSync(p.info)) {
    out(`No emulated instance in ${dir}.`);
    return 1;
  }
  const c: Ctx = { dir, p, info: readJson<EmulatorInfo>(p.info, { name: 'IRIS', version: '2024.1.0.262.0', jdbc_port: 62972 }) };
  const [verb, inst, extra] = argv.slice(2);
  switch (verb) {
    case 'qlist':
      return qlist(c, inst);
    case 'list':
      return qlist(c, inst);
    case 'start':
      checkInstance(c, inst);
      return start(c);
    case 'stop':
      checkInstance(c, inst);
      return stop(c, extra === 'quietly');
    case 'force':
      checkInstance(c, inst);
      return force(c);
    case 'users':
      checkInstance(c, inst);
      return users(c);
    case 'inject':
      if (!FAULT_KINDS.includes(inst as FaultKind)) usage();
      appendLog(dir, faultEntry(inst as FaultKind));
      return 0;
    case 'serve':
      checkInstance(c, inst);
      return serve(c);
    default:
      usage();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`iris-emulator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
