// Refuses a client that keeps presenting wrong credentials to the status server: after `maxFailures`
// failures within `windowMs`, all its requests get 429 for `blockMs`, and the credentials it sends are
// not checked at all (no bcrypt to burn, no answer to learn from). A client is its IPv4 address or its
// IPv6 /64 (one host usually holds a whole /64). The table is bounded: the client whose last failure is
// oldest is forgotten first.
interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  blockMs: number;
  maxClients: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 10, windowMs: 60_000, blockMs: 60_000, maxClients: 10_000 };

interface ClientRecord {
  failures: number;
  windowStart: number;
  blockedUntil: number;
}

export interface AuthThrottle {
  /** Seconds the client must wait (for Retry-After), 0 when it is not refused. */
  retryAfter(address: string | undefined, now: number): number;
  /** One more wrong credential from the client; returns retryAfter after it (0: not refused yet). */
  failed(address: string | undefined, now: number): number;
  /** Accepted credentials: the client's failures are forgotten. */
  succeeded(address: string | undefined): void;
  readonly size: number;
}

export function createAuthThrottle(opts: ThrottleOptions): AuthThrottle {
  // Map order is insertion order: re-inserting on each failure keeps the stalest client first.
  const clients = new Map<string, ClientRecord>();
  const waitOf = (r: ClientRecord | undefined, now: number): number => (r && r.blockedUntil > now ? Math.ceil((r.blockedUntil - now) / 1000) : 0);
  return {
    retryAfter: (address, now) => waitOf(clients.get(clientKey(address)), now),
    failed(address, now) {
      const key = clientKey(address);
      const known = clients.get(key);
      const r = known && now - known.windowStart < opts.windowMs ? known : { failures: 0, windowStart: now, blockedUntil: 0 };
      r.failures++;
      if (r.failures >= opts.maxFailures) r.blockedUntil = now + opts.blockMs;
      clients.delete(key);
      clients.set(key, r);
      if (clients.size > opts.maxClients) clients.delete(clients.keys().next().value as string);
      return waitOf(r, now);
    },
    succeeded(address) {
      clients.delete(clientKey(address));
    },
    get size() {
      return clients.size;
    },
  };
}

/** IPv4 as is (also when IPv4-mapped), IPv6 by its /64 prefix. */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1] as string;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.replace(/%.*$/, '').split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
