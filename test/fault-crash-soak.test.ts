// The crash soak, short and seeded for CI (the long one is `npm run soak`): reconcile runs killed with
// SIGKILL at random points under random faults, restarted each time; then no duplicate attach, no lost
// or non-terminal run, every attach's job uuid on record, nothing left in doubt.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatSoak, runCrashSoak } from '../scripts/soak/crash-soak.js';

describe('crash soak (CI variant)', () => {
  it('survives kill -9 at random points under faults with zero duplicate attaches and zero lost runs', async (t) => {
    const r = await runCrashSoak({ iterations: 10, seed: 20260101, vms: 24 });
    t.diagnostic(formatSoak(r));
    assert.ok(r.crashesSurvived >= 2, `the soak did kill runs (${r.crashesSurvived})`);
    assert.ok(r.faultsTotal > 0, 'faults were injected');
    assert.ok(r.attaches > 0, 'attaches happened');
    assert.deepEqual(r.duplicateAttaches, [], 'duplicate attaches');
    assert.deepEqual(r.lostOrNonTerminalRuns, [], 'lost or non-terminal runs');
    assert.deepEqual(r.unrecordedAttaches, [], 'attaches without a recorded job uuid');
    assert.equal(r.pendingAttaches, 0, 'attaches left in doubt after the clean run');
    assert.deepEqual(r.problems, [], 'exit codes and stderr as documented');
  });
});
