// CPF editor, catalog, messages.log and qlist parsing: the pure parts, table-driven.
import { describe, expect, it } from 'vitest';
import { CpfDocument, unifiedDiff } from '../../src/providers/iris/cpf.js';
import { ParameterCatalog } from '../../src/providers/iris/catalog.js';
import { CONFIG_DIR } from '../../src/config/load.js';
import { filterEntries, parseMessagesLog } from '../../src/providers/iris/messages-log.js';
import { parseQlistLine } from '../../src/providers/iris/control.js';
import { type ShieldError } from '../../src/errors.js';

const CPF = [
  '[ConfigFile]',
  'Version=2024.1',
  '; a comment = with an equals sign',
  '',
  '[config]',
  '  globals = 0,0,256,0,0,0  ',
  'gmheap=37568',
  'something odd without equals',
  'routines=80',
  '',
  '[Map.USER]',
  'Package.Demo=USER',
  '[Startup]',
  'DefaultPort=1972',
].join('\r\n');

describe('CpfDocument', () => {
  it.each([
    ['CRLF with comments and unknown lines', CPF],
    ['trailing CRLF', `${CPF}\r\n`],
    ['LF only', CPF.replace(/\r\n/g, '\n')],
    ['mixed endings and a lone CR', 'a=1\r\nb=2\n[x]\rc=3\r\n\r\n'],
    ['empty file', ''],
    ['non-ASCII and tabs', '[config]\r\n\tname=Zürich ✓\r\n'],
  ])('round-trips byte for byte: %s', (_label, text) => {
    expect(CpfDocument.parse(text).toString()).toBe(text);
  });

  it('reads values by section (case-insensitive section, exact name)', () => {
    const d = CpfDocument.parse(CPF);
    expect(d.get('config', 'gmheap')).toBe('37568');
    expect(d.get('CONFIG', 'globals')).toBe('0,0,256,0,0,0');
    expect(d.get('Map.USER', 'Package.Demo')).toBe('USER');
    expect(d.get('Startup', 'gmheap')).toBeUndefined();
    expect(d.eol).toBe('\r\n');
  });

  it('edits only the target line, keeping its blanks and the CRLF endings', () => {
    const d = CpfDocument.parse(CPF).with('config', 'globals', '0,0,512,0,0,0');
    const before = CPF.split('\r\n');
    const after = d.toString().split('\r\n');
    expect(after.length).toBe(before.length);
    const changed = after.map((l, i) => (l === before[i] ? -1 : i)).filter((i) => i >= 0);
    expect(changed).toEqual([5]);
    expect(after[5]).toBe('  globals = 0,0,512,0,0,0  ');
  });

  it('adds a missing parameter after the last parameter of its section', () => {
    const d = CpfDocument.parse(CPF).with('config', 'locksiz', '16777216');
    const lines = d.toString().split('\r\n');
    expect(lines[lines.indexOf('routines=80') + 1]).toBe('locksiz=16777216');
    expect(d.toString().replace('locksiz=16777216\r\n', '')).toBe(CPF);
    expect(() => CpfDocument.parse(CPF).with('Nope', 'x', '1')).toThrow(/no section/);
  });

  it('makes a unified diff of the changed lines with context', () => {
    const next = CpfDocument.parse(CPF).with('config', 'gmheap', '65536').toString();
    const diff = unifiedDiff(CPF, next, 'iris.cpf');
    expect(diff).toContain('--- iris.cpf\n+++ iris.cpf\n@@ -4,7 +4,7 @@');
    expect(diff).toContain('\n-gmheap=37568\n+gmheap=65536\n');
    expect(diff).not.toContain('\r');
  });
});

describe('ParameterCatalog', () => {
  const cat = ParameterCatalog.load('iris-parameters.json', CONFIG_DIR, []);
  const code = (f: () => unknown): string => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return (e as ShieldError).code;
    }
  };
  it.each([
    ['config', 'gmheap', '65536', 'ok'],
    ['config', 'gmheap', '0', 'ok'],
    ['config', 'gmheap', '100', 'VALIDATION_FAILED'],
    ['config', 'gmheap', 'lots', 'VALIDATION_FAILED'],
    ['config', 'globals', '0,0,512,0,0,0', 'ok'],
    ['config', 'globals', '0,0,512', 'VALIDATION_FAILED'],
    ['Startup', 'DefaultPort', '1973', 'POLICY_DENIED'],
    ['config', 'no_such_thing', '1', 'POLICY_DENIED'],
    ['Journal', 'FreezeOnError', '1', 'POLICY_DENIED'],
    ['Startup', 'SystemMode', 'LIVE', 'ok'],
    ['Startup', 'SystemMode', 'bad\nline', 'VALIDATION_FAILED'],
  ])('[%s] %s=%s -> %s', (s, n, v, expected) => {
    expect(code(() => cat.check(s, n, v))).toBe(expected);
  });
  it('names the range in a validation error', () => {
    try {
      cat.check('config', 'gmheap', '100');
    } catch (e) {
      expect((e as ShieldError).details).toMatchObject({ expected: 'an integer from 16384 to 1073741760 KB (or 0)' });
    }
    expect.assertions(1);
  });
});

describe('messages.log', () => {
  const LOG = [
    '*** Recovery started at Fri May 13 22:07:02 2016',
    '05/13/16-22:07:02:513 (91515) 0 [Generic.Event] Allocated 5682MB shared memory using Huge Pages',
    '05/13/16-22:07:03:001 (91515) 0 [Generic.Event] 5000MB global buffers, 151MB routine buffers',
    '  continued on a second line',
    '05/13/16-22:08:00:000 (1121) 3 [Generic.Event] Process 1121 caught signal 11.',
    "05/13/16-22:09:00:000 (18374) 2 [Utility.Event] LMF Error: License Server replied 'Invalid Key'",
    '05/13/16-22:10:00:000 (18374) 1 entry without a category',
  ].join('\r\n');
  const entries = parseMessagesLog(LOG);

  it('parses entries, banners and continuation lines', () => {
    expect(entries).toHaveLength(6);
    expect(entries[0]).toMatchObject({ severity: null, text: '*** Recovery started at Fri May 13 22:07:02 2016' });
    expect(entries[2]).toMatchObject({ pid: 91515, severity: 0, category: 'Generic.Event', text: '5000MB global buffers, 151MB routine buffers\n  continued on a second line' });
    expect(entries[5]).toMatchObject({ severity: 1, category: null, text: 'entry without a category' });
    expect(entries[3]!.ts).toBe(new Date(2016, 4, 13, 22, 8, 0, 0).toISOString());
  });

  it('filters by severity, category prefix, since and limit, newest first', () => {
    expect(filterEntries(entries, { limit: 10, minSeverity: 2 }).map((e) => e.pid)).toEqual([18374, 1121]);
    expect(filterEntries(entries, { limit: 10, category: 'Utility' }).map((e) => e.severity)).toEqual([2]);
    expect(filterEntries(entries, { limit: 1, since: new Date(2016, 4, 13, 22, 7, 30) }).map((e) => e.severity)).toEqual([1]);
  });
});

describe('qlist', () => {
  it('parses a real line and tolerates short ones', () => {
    const e = parseQlistLine('INSTTEST^/ensemble/instances/insttest/^2018.1.1.643.0^running, since Fri May 13 22:07:02 2016^iris.cpf^56772^57772^62972^ok^IRIS^^^/mgr/config');
    expect(e).toMatchObject({ name: 'INSTTEST', state: 'running', superserverPort: 56772, webPort: 57772, health: 'ok' });
    expect(parseQlistLine('OLD^/x/^2010.1^down, last used Thu Sep 15 18:58:30 2016')).toMatchObject({ state: 'down', health: '', superserverPort: null });
    expect(parseQlistLine('garbage')).toBeUndefined();
  });
});
