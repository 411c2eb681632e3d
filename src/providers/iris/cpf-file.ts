// iris.cpf on disk: timestamped backups beside the file, atomic replacement (temp, fsync, rename,
// fsync of the directory) and retention. A reader never sees a half-written file.
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sha256 } from './cpf.js';

export async function readCpf(path: string): Promise<{ text: string; sha: string }> {
  const buf = await readFile(path);
  return { text: buf.toString('utf8'), sha: sha256(buf) };
}

async function writeDurably(path: string, data: string | Buffer, flag: 'wx' | 'w'): Promise<void> {
  const fh = await open(path, flag, 0o640);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    /* some filesystems refuse fsync on directories; the rename is still atomic */
  } finally {
    await fh.close();
  }
}

const stamp = (d = new Date()): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** `iris.cpf.shield-<UTC stamp>-<tag>.bak` beside the file; returns its path. */
export async function backupCpf(path: string, tag: string): Promise<string> {
  const backup = join(dirname(path), `${basename(path)}.shield-${stamp()}-${tag}.bak`);
  const data = await readFile(path);
  try {
    await writeDurably(backup, data, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Same plan resumed after a crash within the same second: the existing copy is that backup.
  }
  await syncDir(dirname(path));
  return backup;
}

export const tempPrefix = (path: string): string => `${basename(path)}.shield-tmp-`;

/** Write a temp file beside the target, fsync it, then rename it over the target. */
export async function writeCpfAtomically(path: string, data: string | Buffer, beforeRename?: () => Promise<void>): Promise<void> {
  const tmp = join(dirname(path), `${tempPrefix(path)}${randomBytes(6).toString('hex')}`);
  try {
    await writeDurably(tmp, data, 'wx');
    if (beforeRename) await beforeRename();
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}

/** Temp files a killed process left behind (never the target itself). */
export async function removeStaleTemps(path: string): Promise<number> {
  const prefix = tempPrefix(path);
  let n = 0;
  for (const f of await readdir(dirname(path))) {
    if (f.startsWith(prefix)) {
      await unlink(join(dirname(path), f)).catch(() => undefined);
      n++;
    }
  }
  return n;
}

/** Shield's backups of this file, oldest first. */
export async function listBackups(path: string): Promise<string[]> {
  const prefix = `${basename(path)}.shield-`;
  return (await readdir(dirname(path)))
    .filter((f) => f.startsWith(prefix) && f.endsWith('.bak'))
    .sort()
    .map((f) => join(dirname(path), f));
}

/** Keep the newest `keep` backups; returns the ones deleted. */
export async function pruneBackups(path: string, keep: number): Promise<string[]> {
  const all = await listBackups(path);
  const drop = all.slice(0, Math.max(0, all.length - keep));
  for (const f of drop) await unlink(f).catch(() => undefined);
  return drop;
}

/** Put a backup back in place, atomically. */
export async function restoreCpf(path: string, backup: string): Promise<void> {
  await writeCpfAtomically(path, await readFile(backup));
}
