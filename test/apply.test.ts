// Apply (src/apply/) in-process, over the real simulator and a real ledger file: the per-host queue
// (hosts take turns; a busy host does not hold up the others), the group commit of the start records
// (one transaction per turn, in the order asked; a failed commit releases none of its starts), and the
// gates asked at each start (one that starts refusing mid-run stops further PUTs, with its reason
// recorded), a ledger write failing mid-apply, and which failures are in doubt. What is asserted is what the MN saw (its request log, its accepted attaches) and what the
// ledger holds; waits are bounded polls on conditions, never sleeps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pino from 'pino';
import { startSimulator, type SimOptions, type SimVm, type Simulator } from '../src/sim/index.js';
import type { Ledger } from '../src/ledger/index.js';
import { applyAttaches, isInDoubt, type ApplyOptions, type ApplyResult } from '../src/apply/apply.js';
import { GtrError, ZStackApiError } from '../src/errors.js';
import { GroupCommit } from '../src/apply/group-commit.js';
import { StartPath } from '../src/apply/start-path.js';
import { withLease } from '../src/reconcile/lease.js';
import type { AttachGate } from '../src/plan/gates.js';
import type { DeferReason } from '../src/plan/reasons.js';
import type { Decision } from '../src/plan/plan.js';
import { newJobUuid, type ZStackClient, type ZStackClientOptions } from '../src/zstack/client.js';
import { fastClient } from './helpers/zstack.js';
import { HEX, testFleet, testVm } from './helpers/fleet.js';
import { tempLedger } from './helpers/ledger.js';
import { waitFor } from './helpers/cli.js';

const silent = pino({ level: 'silent' });

const HOST_A = HEX(0xa1);
const HOST_B = HEX(0xb1);
const HOST_C = HEX(0xc1);

/** VMs numbered from `first`, `count` of them, all on `hostUuid`. */
function onHost(hostUuid: string, first: number, count: number): SimVm[] {
  return Array.from({ length: count }, (_, i) => testVm(first + i, { hostUuid }));
}

/** The planner's attach decision for a simulator VM (1.0.0 -> 1.2.0, the simulator's default ISO). */
function attachDecision(vm: SimVm): Decision {
  return {
    vmUuid: vm.uuid, vmName: vm.name, action: 'attach', reason: 'outdated', current: '1.0.0', target: '1.2.0',
    agentType: 'LinuxOnKvm', architecture: 'x86_64', hostUuid: vm.hostUuid, group: 'LinuxOnKvm/x86_64', message: null,
    source: 'guest', guestAgent: true, install: null,
  };
}

interface Bench {
  sim: Simulator;
  ledger: Ledger;
  /** The ledger's database file. */
  file: string;
  client: ZStackClient;
  runId: number;
  decisions: Decision[];
  /** applyAttaches of every decision under the run's lease, with `gates` on its start path, writing through `via` (default the ledger). */
  apply(over?: Partial<ApplyOptions>, gates?: AttachGate[], via?: Ledger): Promise<ApplyResult>;
}

/** A simulator with `fleet`, a ledger with a run holding one attach decision per VM (in fleet order), a client. */
async function withBench(fleet: SimVm[], fn: (b: Bench) => Promise<void>, simOpts: SimOptions = {}, clientOpts: Partial<ZStackClientOptions> = {}): Promise<void> {
  const sim = await startSimulator({ fleet, jobDurationMs: 5, ...simOpts });
  const t = tempLedger('gtr-apply-');
  const client = fastClient(sim, clientOpts);
  try {
    const runId = t.ledger.startRun({ trigger: 'cli', dryRun: false, now: Date.now() });
    const decisions = fleet.map(attachDecision);
    t.ledger.recordDecisions(runId, decisions);
    const apply = (over: Partial<ApplyOptions> = {}, gates: AttachGate[] = [], via: Ledger = t.ledger) =>
      withLease(t.ledger, { purpose: 'test', now: Date.now, logger: silent }, (fence) =>
        applyAttaches(decisions, client, via, {
          runId, maxConcurrency: 4, maxPerHost: 2, maxErrors: 10, recordVersionTag: false,
          quarantine: { afterFailures: 3, baseMs: 1000, maxMs: 10_000 }, newJobUuid, now: Date.now, logger: silent,
          start: StartPath.open(via, fence, gates, Date.now),
          ...over,
        }));
    await fn({ sim, ledger: t.ledger, file: t.file, client, runId, decisions, apply });
  } finally {
    await client.close();
    await sim.close();
    t.cleanup();
  }
}

/** The VMs whose attach PUT reached the MN, in arrival order. */
function attachPuts(sim: Simulator): string[] {
  return sim.calls.filter((c) => c.api === 'AttachGuestToolsIsoToVm' && c.method === 'PUT').map((c) => c.vmUuid ?? '?');
}

/** The ledger's rows of the run by VM: `action/reason`, with the job uuid when the attach was started. */
function ledgerRows(ledger: Ledger, runId: number): Map<string, { key: string; started: boolean }> {
  const run = ledger.getRun(runId);
  assert.ok(run, `run ${runId} exists`);
  return new Map(run.actions.map((a) => [a.vmUuid, { key: `${a.action}/${a.reason}`, started: a.jobUuid !== null }]));
}

/** How many attaches of the run have a start recorded (a job uuid), as the ledger holds it right now. */
function startedInLedger(ledger: Ledger, runId: number): number {
  return [...ledgerRows(ledger, runId).values()].filter((r) => r.started).length;
}

describe('apply: the host queue', () => {
  it('hosts take turns: a host with many VMs listed first does not make the others wait for all of its attaches', async () => {
    // Host A's four VMs come first in the plan, then B's two and C's two. One attach at a time.
    const a = onHost(HOST_A, 1, 4);
    const b = onHost(HOST_B, 11, 2);
    const c = onHost(HOST_C, 21, 2);
    const hostOf = new Map([...a, ...b, ...c].map((vm) => [vm.uuid, vm.hostUuid]));
    await withBench([...a, ...b, ...c], async (t) => {
      const result = await t.apply({ maxConcurrency: 1, maxPerHost: 2 });
      assert.equal(result.failed, 0);
      assert.equal(result.results.size, 8);
      const hosts = attachPuts(t.sim).map((vm) => hostOf.get(vm));
      assert.deepEqual(hosts, [HOST_A, HOST_B, HOST_C, HOST_A, HOST_B, HOST_C, HOST_A, HOST_A], 'round robin over the hosts with work left');
      assert.deepEqual(attachPuts(t.sim), [a[0], b[0], c[0], a[1], b[1], c[1], a[2], a[3]].map((vm) => vm.uuid), 'each host in plan order');
    });
  });

  it('a host whose attaches hang at maxPerHost does not hold up the other hosts, and gets no third attach meanwhile', async () => {
    const a = onHost(HOST_A, 1, 5);
    const b = onHost(HOST_B, 11, 3);
    const c = onHost(HOST_C, 21, 3);
    const others = [...b, ...c].map((vm) => vm.uuid);
    await withBench([...a, ...b, ...c], async (t) => {
      // Host A's first two attach PUTs hang at the MN (a host busy for minutes) until released.
      const holds = [a[0], a[1]].map((vm) => t.sim.holdRequest({ api: 'AttachGuestToolsIsoToVm', match: (call) => call.vmUuid === vm.uuid }));
      const run = t.apply({ maxConcurrency: 4, maxPerHost: 2 });
      await Promise.all(holds.map((h) => h.reached));
      await waitFor('every attach on hosts B and C to be accepted', () => {
        const accepted = new Set(t.sim.attachesStarted().map((s) => s.vmUuid));
        return others.every((vm) => accepted.has(vm));
      }, 60_000);
      const onA = attachPuts(t.sim).filter((vm) => a.some((x) => x.uuid === vm));
      const acceptedOnA = t.sim.attachesStarted().filter((s) => a.some((x) => x.uuid === s.vmUuid));
      assert.deepEqual(acceptedOnA, [], 'host A: nothing accepted while its two attaches hang');
      assert.ok(onA.every((vm) => vm === a[0].uuid || vm === a[1].uuid), `host A got only its two held attaches, not ${onA.join(', ')}`);
      for (const h of holds) h.release();
      const result = await run;
      assert.equal(result.failed, 0);
      assert.equal(result.results.size, 11, 'every VM attached in the end');
      assert.ok(t.sim.maxAttachInFlightPerHost() <= 2, 'never more than maxPerHost on one host');
      const order = attachPuts(t.sim);
      assert.ok(order.indexOf(a[2].uuid) > Math.max(...others.map((vm) => order.indexOf(vm))), 'host A\'s third attach went out after every attach of B and C');
    }, {}, { requestTimeoutMs: 120_000 }); // the client outwaits the held requests on a loaded machine
  });
});

describe('apply: the group commit of the start records', () => {
  it('starts asked for in one turn share one transaction, written in the order asked; a later turn gets its own', async () => {
    const t = tempLedger('gtr-apply-commit-');
    try {
      let transactions = 0;
      const commits = new GroupCommit({
        batch: (fn) => t.ledger.batch(fn),
        batchUnsynced: (fn) => {
          transactions++;
          return t.ledger.batchUnsynced(fn);
        },
        synced: () => t.ledger.synced(),
      });
      const order: string[] = [];
      const begin = (name: string) => commits.begin(() => {
        order.push(name);
        return t.ledger.startRun({ trigger: 'cli', dryRun: false, now: Date.now() });
      });
      // An outcome queued first is written first, before the starts (the gates re-read state after it).
      commits.finish(() => order.push('finish'));
      const ids = await Promise.all([begin('a'), begin('b'), begin('c')]);
      assert.equal(transactions, 1, 'one transaction for the three starts and the outcome');
      assert.deepEqual(order, ['finish', 'a', 'b', 'c']);
      assert.deepEqual(ids, [ids[0], ids[0] + 1, ids[0] + 2], 'the rows were written in the order asked');
      const later = await begin('d');
      assert.equal(transactions, 2, 'a start asked in a later turn commits on its own');
      assert.deepEqual(t.ledger.listRuns(10).map((r) => r.id).sort((x, y) => x - y), [...ids, later], 'all four committed');
    } finally {
      t.cleanup();
    }
  });

  it('one failing write fails the whole turn\'s transaction: none of its starts is committed, each caller gets the error', async () => {
    const t = tempLedger('gtr-apply-commit-');
    try {
      const commits = new GroupCommit(t.ledger);
      const begin = (fail: boolean) => commits.begin(() => {
        const id = t.ledger.startRun({ trigger: 'cli', dryRun: false, now: Date.now() });
        if (fail) throw new Error('injected: disk I/O error');
        return id;
      });
      const settled = await Promise.allSettled([begin(false), begin(true), begin(false)]);
      assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected', 'rejected']);
      for (const s of settled) assert.match(String((s as PromiseRejectedResult).reason), /injected: disk I\/O error/);
      assert.deepEqual(t.ledger.listRuns(10), [], 'rolled back together');
      assert.throws(() => commits.flush(), /injected: disk I\/O error/, 'flush reports the failure');
    } finally {
      t.cleanup();
    }
  });

  it('a start record the database refuses (a trigger raising) releases no PUT of its batch, and applyAttaches rejects with the error', async () => {
    // Eight VMs, each on a host of its own: the queue hands them out in plan order, four at once.
    const fleet = testFleet(8);
    await withBench(fleet, async (t) => {
      // The database refuses to record the start of the third VM, whose transaction is that of the first four.
      const db = new Database(t.file);
      db.exec(`CREATE TRIGGER refuse_start BEFORE UPDATE OF job_uuid ON decisions WHEN NEW.vm_uuid = '${fleet[2].uuid}'
        BEGIN SELECT RAISE(ABORT, 'injected: the disk refused the write'); END`);
      db.close();
      await t.client.login(); // the four starts then ask for their permits in the same turn
      await assert.rejects(t.apply({ maxConcurrency: 4, maxPerHost: 1 }), /injected: the disk refused the write/);
      assert.deepEqual(attachPuts(t.sim), [], 'no attach PUT: the batch with the refused record was not released');
      assert.deepEqual(t.sim.attachesStarted(), []);
      assert.equal(startedInLedger(t.ledger, t.runId), 0, 'and no start is recorded: the batch rolled back as one');
    });
  });

  it('a ledger write failing mid-apply stops new attaches and surfaces as an error, not a crash', async () => {
    await withBench(testFleet(8), async (t) => {
      // The third start record fails (a full disk); the ledger has no batch, so each start is written alone.
      let begins = 0;
      const failing = Object.assign(Object.create(t.ledger) as Ledger, {
        beginAttach(...args: Parameters<Ledger['beginAttach']>) {
          if (++begins === 3) throw new Error('SQLITE_FULL: database or disk is full');
          return t.ledger.beginAttach(...args);
        },
        batch: undefined,
      });
      await assert.rejects(t.apply({ maxConcurrency: 1, maxPerHost: 1, recordVersionTag: true }, [], failing), /SQLITE_FULL/);
      assert.equal(t.sim.attachesStarted().length, 2, 'no attach after the failed write');
    }, { jobDurationMs: 20 });
  });
});

/** A gate that lets `n` attaches of the run start (as the ledger records them), then refuses with `reason`. */
function refusesAfter(ledger: Ledger, runId: number, n: number, reason: DeferReason, stopsRun: boolean): AttachGate {
  return { name: 'test-gate', stopsRun, check: () => (startedInLedger(ledger, runId) >= n ? reason : null) };
}

describe('apply: a gate that starts refusing mid-run', () => {
  for (const [kind, stopsRun, reason] of [['a gate per attach (a window closing)', false, 'outside-window'], ['a gate that stops the run (shutdown)', true, 'shutdown']] as const) {
    it(`${kind}: after 3 starts no further PUT goes out, and every other VM is recorded as defer/${reason}`, async () => {
      const fleet = [...onHost(HOST_A, 1, 4), ...onHost(HOST_B, 11, 4), ...onHost(HOST_C, 21, 2)];
      await withBench(fleet, async (t) => {
        const gate = refusesAfter(t.ledger, t.runId, 3, reason, stopsRun);
        const result = await t.apply({ maxConcurrency: 4, maxPerHost: 2 }, [gate]);
        const puts = attachPuts(t.sim);
        assert.equal(puts.length, 3, `three PUTs, then none: ${puts.join(', ')}`);
        assert.equal(t.sim.attachesStarted().length, 3);
        assert.deepEqual([...result.results.keys()].sort(), [...puts].sort(), 'the three started are the three attached');
        const rest = fleet.map((vm) => vm.uuid).filter((vm) => !puts.includes(vm));
        assert.deepEqual([...result.deferred.keys()].sort(), [...rest].sort());
        assert.ok([...result.deferred.values()].every((r) => r === reason), 'deferred with the gate\'s reason');
        assert.equal(result.stoppedBy, stopsRun ? reason : null);
        const rows = ledgerRows(t.ledger, t.runId);
        for (const vm of rest) assert.deepEqual(rows.get(vm), { key: `defer/${reason}`, started: false }, `ledger row of ${vm}`);
        for (const vm of puts) assert.deepEqual(rows.get(vm), { key: 'attach/outdated', started: true });
      });
    });
  }
});

describe('apply: what is in doubt', () => {
  it('only a failure the MN reported, or one before anything ran, is retried; anything else is in doubt', () => {
    const zstack = new ZStackApiError('AttachGuestToolsIsoToVm', 503, { code: 'SYS.1006', description: 'operation error', details: 'failed' });
    assert.equal(isInDoubt(zstack), false);
    assert.equal(isInDoubt(new GtrError('GTR_ZSTACK_UNREACHABLE', 'login timed out', { details: { api: 'LogInByAccount' } })), false);
    assert.equal(isInDoubt(new GtrError('GTR_ZSTACK_UNREACHABLE', 'refused', { details: { api: 'AttachGuestToolsIsoToVm', sent: false } })), false);
    assert.equal(isInDoubt(new GtrError('GTR_ZSTACK_UNREACHABLE', 'poll refused', { details: { api: 'QueryJob', sent: false } })), true);
    assert.equal(isInDoubt(new GtrError('GTR_JOB_TIMEOUT', 'job still running')), true);
    assert.equal(isInDoubt(new GtrError('GTR_JOB_LOST', 'job unknown')), true);
  });
});
