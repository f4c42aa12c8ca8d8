// What a ZStack query asked for, read from the simulator's request log (CallRecord.query): its `q`
// conditions, and the uuid lists among them. Shared by the tests and the benchmark's simulator child
// (scripts/bench/sim-child.ts); no imports, so either may use it.

/** The `q` conditions of a query string, e.g. `vmInstanceUuid?=a,b` or `tag~=GuestTools::%`. */
export function queryConditions(query: string | undefined): string[] {
  return new URLSearchParams(query ?? '').getAll('q');
}

/**
 * The `?=` uuid lists of a query (each as its comma-joined text): a batch of given VMs (the re-read
 * before apply, verify). None for a fleet-wide query, whose `tag?=` lists name tags, not resources.
 */
export function uuidLists(query: string | undefined): string[] {
  return queryConditions(query)
    .filter((q) => /^(uuid|resourceUuid|vmInstanceUuid)\?=/.test(q))
    .map((q) => q.slice(q.indexOf('?=') + 2));
}
