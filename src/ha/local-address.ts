// "Is this address on a local interface?": how a node tells it holds a virtual IP (ha.leaderCheck
// {"vip"} and zsha2's dbvip). Reading interface addresses needs a netlink socket on Linux, which the
// systemd unit must allow (RestrictAddressFamilies=AF_NETLINK).
import os from 'node:os';
import { messageOf } from '../errors.js';

export type InterfaceTable = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

/** The interface that holds `address`, or null; throws when the interfaces cannot be listed. */
export function interfaceHolding(address: string, interfaces: () => InterfaceTable = os.networkInterfaces): string | null {
  const wanted = canonicalAddress(address);
  for (const [name, infos] of Object.entries(interfaces())) {
    if (infos?.some((info) => canonicalAddress(info.address) === wanted)) return name;
  }
  return null;
}

/** One spelling per address: IPv6 compressed and lower-case (`fe80:0::1` = `fe80::1`), IPv4 as is. */
function canonicalAddress(address: string): string {
  if (!address.includes(':')) return address;
  try {
    return new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return address.toLowerCase();
  }
}

/** Why the interfaces could not be read, with the usual cause under systemd. */
export function interfaceError(error: unknown): string {
  const text = messageOf(error);
  return `cannot list the local interfaces (${text}); under systemd the unit must allow AF_NETLINK (RestrictAddressFamilies)`;
}
