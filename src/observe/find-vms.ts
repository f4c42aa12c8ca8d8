// `--vm UUID|NAME`: the VMs of the fleet with these uuids or names, read from ZStack (QueryVmInstance,
// one query for the uuids, one per name), so a uuid or name the MN does not know is a usage error
// instead of a run that silently does nothing.
import type { QueryPort } from '../zstack/client.js';

export interface VmMatch {
  uuid: string;
  name: string;
}

const UUID = /^[0-9a-f]{32}$/;
const UUIDS_PER_QUERY = 100;

export async function findVms(client: QueryPort, refs: readonly string[]): Promise<VmMatch[]> {
  const uuids = refs.filter((r) => UUID.test(r));
  const queries: string[][] = [];
  for (let i = 0; i < uuids.length; i += UUIDS_PER_QUERY) queries.push([`uuid?=${uuids.slice(i, i + UUIDS_PER_QUERY).join(',')}`]);
  // A uuid-shaped text may be a name too.
  for (const name of refs) queries.push([`name=${name}`]);
  const found = new Map<string, VmMatch>();
  for (const conditions of queries) {
    for await (const page of client.queryPages('vm-instances', conditions, { fields: ['uuid', 'name'] })) {
      for (const vm of page) {
        if (typeof vm.uuid === 'string') found.set(vm.uuid, { uuid: vm.uuid, name: typeof vm.name === 'string' ? vm.name : '' });
      }
    }
  }
  return [...found.values()];
}
