import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessLoggerOf, createLogger, deferredFdDestination, isoTimestamp } from '../../src/observability/logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', stream }) };
}

describe('logger', () => {
  it('writes ISO-8601 timestamps equal to Date#toISOString at millisecond precision', () => {
    for (let i = 0; i < 50; i++) {
      const before = Date.now();
      const t = JSON.parse(`{${isoTimestamp().slice(1)}}`).time as string;
      const after = Date.now();
      expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(t)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(t)).toBeLessThanOrEqual(after);
    }
  });

  it('redacts credential fields, including nested ones', () => {
    const { lines, logger } = capture();
    logger.info({ password: 'p', headers: { authorization: 'Bearer x' }, cfg: { client_secret: 's', token: 't' }, ok: 1 }, 'm');
    expect(lines[0]).toMatchObject({ password: '[redacted]', headers: { authorization: '[redacted]' }, cfg: { client_secret: '[redacted]', token: '[redacted]' }, ok: 1 });
    expect(JSON.stringify(lines)).not.toMatch(/Bearer x|"p"|"s"|"t"/);
  });

  it('the access line goes to the same destination with the same shape', () => {
    const { lines, logger } = capture();
    accessLoggerOf(logger).info({ trace_id: 'x', tool: 'render_template', outcome: 'ok' }, 'tool call');
    expect(lines[0]).toMatchObject({ level: 'info', name: 'shield-mcp', trace_id: 'x', msg: 'tool call' });
  });
});

describe('the stderr destination', () => {
  it('writes the lines of one turn together, right after it, in order', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'shield-log-')), 'err.log');
    const fd = openSync(file, 'w');
    const dest = deferredFdDestination(fd);
    dest.write('{"n":1}\n');
    dest.write('{"n":2}\n');
    expect(readFileSync(file, 'utf8')).toBe(''); // not in front of the answer being sent
    await new Promise((r) => setImmediate(r));
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
    dest.write('{"n":3}\n');
    dest.flushSync(); // what process exit does
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    closeSync(fd);
  });
});
