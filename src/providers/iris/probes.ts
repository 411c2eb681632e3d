// An instance's control driver, and its read-only probes (qlist, active users) run through the
// instance's breaker; start and stop keep their own, longer timeouts outside it, so a slow shutdown
// does not open the circuit.
import { ShieldError } from '../../errors.js';
import type { BreakerRegistry } from '../../breakers/registry.js';
import { IrisControl, runCommand, type QlistEntry } from './control.js';
import type { ResolvedInstance } from './instances.js';

export interface ActiveUsers {
  known: boolean;
  count: number;
  users: string[];
}

export function controlFor(inst: ResolvedInstance): IrisControl {
  return new IrisControl({ command: inst.command, irisName: inst.irisName, commandTimeoutMs: inst.timeouts.command_ms });
}

export class InstanceProbes {
  constructor(private readonly breakers: BreakerRegistry) {}

  /** qlist through the instance's breaker. */
  async qlist(inst: ResolvedInstance, signal?: AbortSignal): Promise<QlistEntry | undefined> {
    return this.breakers.run(`iris:${inst.name}`, (s) => controlFor(inst).qlist(s), signal);
  }

  async activeUsers(inst: ResolvedInstance, signal?: AbortSignal): Promise<ActiveUsers> {
    const cmd = inst.activeUsersCommand;
    if (!cmd) return { known: false, count: 0, users: [] };
    const r = await this.breakers.run(`iris:${inst.name}`, (s) => runCommand(cmd, inst.timeouts.command_ms, s), signal);
    if (r.code !== 0 || r.timedOut) throw new ShieldError('UPSTREAM_UNAVAILABLE', `The active-users probe of ${inst.name} failed (exit ${r.code ?? 'timeout'}).`, { retryAfterS: 10 });
    const users = r.stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    return { known: true, count: users.length, users };
  }
}
