// The embedded store: one SQLite file (WAL) shared by jobs, the local desk, the index and the audit.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export interface OpenDatabaseOptions {
  /** Directory of the database file; ":memory:" for a private in-memory database. */
  dataDir: string;
  file: string;
}

export function databasePath(options: OpenDatabaseOptions): string {
  return options.dataDir === ':memory:' ? ':memory:' : join(resolve(options.dataDir), options.file);
}

export function openDatabase(options: OpenDatabaseOptions): Db {
  const path = databasePath(options);
  if (path !== ':memory:') mkdirSync(resolve(options.dataDir), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commit).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}
