// Who is calling: the identity an authenticating transport establishes and tools, jobs and tasks
// check. Transport-neutral and SDK-free, so domain code can depend on it.

/** Who is calling: null when the transport does not authenticate (stdio, loopback HTTP). */
export interface Principal {
  id: string;
  scopes: string[];
  /** Operators see and cancel every job. */
  operator: boolean;
}

/** The part of the SDK's AuthInfo this module reads and writes (kept structural: no SDK import). */
interface CarriesExtra {
  extra?: Record<string, unknown>;
}

/** What an authenticating transport puts in AuthInfo.extra so the server can find the caller. */
export function principalExtra(principal: Principal): { principal: Principal } {
  return { principal };
}

/** Authenticated transports put the principal in AuthInfo.extra; stdio and open HTTP have none. */
export function principalOf(auth: CarriesExtra | undefined): Principal | null {
  const p = auth?.extra?.principal as Principal | undefined;
  return p ?? null;
}
