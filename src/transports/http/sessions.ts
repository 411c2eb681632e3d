// The stateful sessions of one HTTP server: who opened each, when it was last used, and the sweep
// that closes the idle ones.
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

interface Session {
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
  /** The principal that opened it: a session id learned by another caller is useless to them. */
  owner: string | null;
}

export class SessionTable {
  private readonly sessions = new Map<string, Session>();

  get size(): number {
    return this.sessions.size;
  }

  add(id: string, transport: StreamableHTTPServerTransport, owner: string | null): void {
    this.sessions.set(id, { transport, lastSeen: Date.now(), owner });
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  /** The session's transport, marked as used; undefined when unknown or opened by another principal. */
  lookup(id: string, owner: string | null): StreamableHTTPServerTransport | undefined {
    const s = this.sessions.get(id);
    if (!s || s.owner !== owner) return undefined;
    s.lastSeen = Date.now();
    return s.transport;
  }

  /** Closes sessions idle for longer than `idleMs`, so abandoned clients do not pin memory. */
  sweepIdle(idleMs: number): () => void {
    const sweeper = setInterval(() => {
      const cutoff = Date.now() - idleMs;
      for (const [id, s] of this.sessions) {
        if (s.lastSeen < cutoff) {
          this.sessions.delete(id);
          void s.transport.close();
        }
      }
    }, Math.min(60_000, idleMs));
    sweeper.unref();
    return () => clearInterval(sweeper);
  }

  async closeAll(): Promise<void> {
    for (const s of this.sessions.values()) await s.transport.close();
    this.sessions.clear();
  }
}
