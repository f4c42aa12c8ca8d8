// ZStack uuids (VMs, hosts, jobs): 32 hexadecimal characters, no dashes, lowercase as the MN writes them.
const UUID_PATTERN = /^[0-9a-f]{32}$/;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
