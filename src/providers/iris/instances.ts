// Instances by name: every path and command comes from configuration, never from a tool argument.
import { join, resolve } from 'node:path';
import { ShieldError } from '../../errors.js';
import type { ApprovalPolicy, InstanceConfig, RemediationConfig } from '../../config/sections/remediation.js';
import { emulatorCommand, paths as emulatorPaths, readJson, type EmulatorInfo } from './emulator/state.js';

export interface ResolvedInstance {
  name: string;
  kind: InstanceConfig['kind'];
  irisName: string;
  description: string;
  cpfPath: string;
  logPath: string;
  /** argv prefix of the control command. */
  command: string[];
  /** argv of the active-users probe, or null when none is configured. */
  activeUsersCommand: string[] | null;
  superserverPort: number;
  webPort: number | null;
  httpCheckPath: string | null;
  policy: ApprovalPolicy;
  timeouts: InstanceConfig['timeouts'];
}

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;

export function resolveInstance(cfg: RemediationConfig, name: string): ResolvedInstance {
  const inst = NAME.test(name) ? cfg.instances[name] : undefined;
  if (!inst) {
    const known = Object.keys(cfg.instances);
    throw new ShieldError('NOT_FOUND', `No IRIS instance named ${JSON.stringify(name)} is configured.`, {
      details: { instances: known },
      hint: known.length ? `Use one of: ${known.join(', ')} (list_instances shows them).` : 'No instances are configured; ask an operator.',
    });
  }
  // An emulated instance is named in its state dir; a real one defaults to the key upper-cased.
  const irisName =
    inst.iris_name ??
    (inst.kind === 'emulated' ? readJson<Partial<EmulatorInfo>>(emulatorPaths(resolve(inst.state_dir)).info, {}).name ?? 'IRIS' : name.toUpperCase());
  const base = {
    name,
    kind: inst.kind,
    irisName,
    description: inst.description,
    superserverPort: inst.superserver_port,
    webPort: inst.web_port,
    httpCheckPath: inst.http_check_path,
    policy: inst.policy ?? cfg.default_policy,
    timeouts: inst.timeouts,
  };
  if (inst.kind === 'emulated') {
    const p = emulatorPaths(resolve(inst.state_dir));
    const command = emulatorCommand(inst.state_dir);
    return { ...base, cpfPath: p.cpf, logPath: p.log, command, activeUsersCommand: inst.active_users_command ?? [...command, 'users', irisName] };
  }
  const dir = resolve(inst.install_dir);
  return {
    ...base,
    cpfPath: resolve(inst.cpf_path ?? join(dir, 'iris.cpf')),
    logPath: resolve(inst.messages_log ?? join(dir, 'mgr', 'messages.log')),
    command: [resolve(inst.iris_command ?? join(dir, 'bin', 'iris'))],
    activeUsersCommand: inst.active_users_command,
  };
}

export function instanceNames(cfg: RemediationConfig): string[] {
  return Object.keys(cfg.instances).sort();
}
