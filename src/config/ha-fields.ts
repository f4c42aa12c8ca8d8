// ha.* (DESIGN.md section 4): how a node tells whether it is the leader of a pair of management nodes,
// and where its peer is. Only the leader attaches; the standby mirrors the leader's ledger.
import { fail, httpUrl, isPlainObject, type Field } from './fields.js';

export type LeaderCheckConfig =
  | { kind: 'none' }
  | { kind: 'zsha2' }
  | { kind: 'vip'; address: string }
  | { kind: 'command'; argv: string[] };

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const LEADER_CHECK_EXPECTED =
  '"none", "zsha2", {"vip": "10.0.0.10"} (leader when the address is on a local interface) ' +
  'or {"command": ["/path/to/check", "arg"]} (leader when it exits 0)';

export const leaderCheck: Field<LeaderCheckConfig> = (value, ctx) => {
  if (value === 'none' || value === 'zsha2') return { kind: value };
  if (!isPlainObject(value) || Object.keys(value).length !== 1) return fail(ctx, value, LEADER_CHECK_EXPECTED);
  if ('vip' in value) {
    const address = value.vip;
    const ok = typeof address === 'string' && (IPV4.test(address) || (address.includes(':') && IPV6.test(address)));
    return ok ? { kind: 'vip', address } : fail(ctx, value, 'an IPv4 or IPv6 address in {"vip": ADDR}, such as {"vip": "10.0.0.10"}');
  }
  if ('command' in value) {
    const argv = value.command;
    const ok = Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === 'string' && a !== '');
    // The first word must be a path: the daemon runs it without a shell, and systemd's PATH is short.
    return ok && (argv[0] as string).startsWith('/')
      ? { kind: 'command', argv: argv as string[] }
      : fail(ctx, value, 'a non-empty list of strings starting with an absolute path in {"command": [...]}, such as {"command": ["/usr/local/bin/am-i-leader"]}');
  }
  return fail(ctx, value, LEADER_CHECK_EXPECTED);
};

/** The peer's status endpoint: the base URL of its daemon (http.listen), e.g. "http://10.0.0.6:9477". */
export const peerUrl: Field<string> = (value, ctx) => {
  const url = httpUrl(value, ctx);
  return typeof url === 'string' && /\/zstack\/v1/.test(url) ? fail(ctx, value, "the peer daemon's base URL (its http.listen), not the MN's API") : url;
};
