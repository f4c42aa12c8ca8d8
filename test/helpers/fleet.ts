// Hand-made simulator fleets for end-to-end tests: small, explicit, one VM per purpose.
import type { SimVm } from '../../src/sim/index.js';

/** A 32-hex uuid made from a number, so tests can name VMs and hosts by number. */
export const HEX = (n: number): string => n.toString(16).padStart(32, '0');

/** VM number n: a running Linux KVM user VM with a CD-ROM and GuestTools 1.0.0, alone on its host. */
export function testVm(n: number, patch: Partial<SimVm> = {}): SimVm {
  return {
    uuid: HEX(n),
    name: `vm-${n}`,
    state: 'Running',
    platform: 'Linux',
    architecture: 'x86_64',
    hypervisorType: 'KVM',
    type: 'UserVm',
    zoneUuid: HEX(0xa0),
    clusterUuid: HEX(0xb0),
    hostUuid: HEX(0xc00 + n),
    cdRoms: 1,
    tags: ['GuestTools::1.0.0'],
    guest: null,
    ...patch,
  };
}

/** `count` VMs numbered from `first` (default 1) spread over `hosts` hosts; `patch(i)` adjusts the i-th (0-based). */
export function testFleet(count: number, opts: { hosts?: number; first?: number; patch?: (i: number) => Partial<SimVm> } = {}): SimVm[] {
  const first = opts.first ?? 1;
  const hosts = opts.hosts ?? count;
  return Array.from({ length: count }, (_, i) => testVm(first + i, { hostUuid: HEX(0xc00 + (i % hosts)), ...opts.patch?.(i) }));
}
