// ha.leaderCheck (DESIGN.md section 4): how a node tells whether it is the leader of a pair of management
// nodes. Only the leader attaches; the standby mirrors the leader's ledger.
import { z } from 'zod';
import { httpUrl, isPlainObject } from './fields.js';

export type LeaderCheckConfig = { kind: 'none' } | { kind: 'zsha2' } | { kind: 'vip'; address: string } | { kind: 'command'; argv: string[] };

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const isAddress = (a: string) => IPV4.test(a) || (a.includes(':') && /^[0-9A-Fa-f:.]+$/.test(a));

/** What a wrong value was meant to be decides the message: a vip, a command, or any of the four. */
function expectedFor(value: unknown): string {
  if (isPlainObject(value) && Object.keys(value).length === 1 && 'vip' in value) return 'an IPv4 or IPv6 address in {"vip": ADDR}, such as {"vip": "10.0.0.10"}';
  if (isPlainObject(value) && Object.keys(value).length === 1 && 'command' in value) {
    return 'a non-empty list of strings starting with an absolute path in {"command": [...]}, such as {"command": ["/usr/local/bin/am-i-leader"]}';
  }
  return '"none", "zsha2", {"vip": "10.0.0.10"} (leader when the address is on a local interface) or {"command": ["/path/to/check", "arg"]} (leader when it exits 0)';
}

// Every check aborts its option, so that a wrong value is one problem at ha.leaderCheck (the union's).
const abort = { abort: true };
export const leaderCheck = z.union([
  z.enum(['none', 'zsha2']).transform((kind): LeaderCheckConfig => ({ kind })),
  z.strictObject({ vip: z.string().refine(isAddress, abort) }).transform((v): LeaderCheckConfig => ({ kind: 'vip', address: v.vip })),
  // The first word must be a path: the daemon runs it without a shell, and systemd's PATH is short.
  z.strictObject({ command: z.array(z.string().min(1, abort)).min(1, abort).refine((argv) => argv[0].startsWith('/'), abort) })
    .transform((v): LeaderCheckConfig => ({ kind: 'command', argv: v.command })),
], { error: (issue) => expectedFor(issue.input) });

/** The peer's base URL (its http.listen), e.g. "http://10.0.0.6:9477". */
export const peerUrl = httpUrl.refine((url) => !/\/zstack\/v1/.test(url), { error: "the peer daemon's base URL (its http.listen), not the MN's API" });
