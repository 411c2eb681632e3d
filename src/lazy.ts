// Load a heavy dependency the first time it is needed, not at start-up: most processes never
// crawl, call Jira or talk to Redis, and parsing those libraries dominated time-to-first-answer.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyModule<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(id) as T);
}
