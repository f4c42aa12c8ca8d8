// Table-driven tests of the pure plan: every reason code, precedence, run limit, hash stability.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRun, type PlanInput, type PlanInstall, type VmHistory } from '../src/plan/plan.js';
import type { InstallState } from '../src/ledger/index.js';
import { DEFER_REASONS, INSTALL_REASONS, REASONS, SKIP_REASONS, ATTACH_REASONS, type DeferReason } from '../src/plan/reasons.js';
import type { AttachGate } from '../src/plan/gates.js';
import { WindowGate } from '../src/schedule/window-gate.js';
import type { CatalogTarget, VmFacts } from '../src/domain.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const HOUR = 3_600_000;

const targets: CatalogTarget[] = [
  { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.2.0', iso: '/dvd/x86_64/GuestTools-1.2.0.iso' },
  { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0', iso: '/dvd/general/GuestTools_linux-1.2.0.iso' },
  { agentType: 'LinuxOnKvm', architecture: 'aarch64', version: '1.3.0', iso: '/dvd/aarch64/GuestTools_linux-1.3.0.iso' },
];

function vm(patch: Partial<VmFacts> = {}): VmFacts {
  return {
    uuid: 'a'.repeat(32),
    name: 'vm-a',
    state: 'Running',
    platform: 'Linux',
    architecture: 'x86_64',
    hypervisorType: 'KVM',
    type: 'UserVm',
    zoneUuid: 'zone1',
    clusterUuid: 'cluster1',
    hostUuid: 'host1',
    hasCdRom: true,
    cdRomIsoUuid: null,
    tagVersions: ['1.0.0'],
    reportedVersion: null,
    agentRunning: false,
    tags: [],
    attachedAt: null,
    installFailedAt: null,
    ...patch,
  };
}

function input(vms: VmFacts[], patch: Partial<PlanInput> = {}, policy: Partial<PlanInput['policy']> = {}): PlanInput {
  return {
    vms,
    targets,
    history: new Map(),
    policy: { attachUntagged: false, reattachAfterMs: 24 * HOUR, maxAttempts: 3, ejectUserIso: false, maxPerRun: 0, include: null, exclude: null, ...policy },
    now: NOW,
    mismatchedGroups: new Set(),
    ...patch,
  };
}

const gate = (reason: DeferReason | null): AttachGate => ({ name: 'test', check: () => reason });
/** The run's real window gate at NOW (12:00 UTC) with the only window 14:00-16:00: closed. */
const closedWindow = (): AttachGate => new WindowGate([{ days: [], start: '14:00', end: '16:00' }], 'UTC', NOW);

const NO_ATTEMPTS = { attempts: 0, attemptsTarget: null, lastAttachTagged: false, lastAttachFailed: false, retriedAt: null };
const recentAttach: VmHistory = { lastAttachTarget: '1.2.0', lastAttachAt: NOW - HOUR, consecutiveFailures: 0, quarantineUntil: null, ...NO_ATTEMPTS };
const quarantined: VmHistory = { lastAttachTarget: null, lastAttachAt: null, consecutiveFailures: 3, quarantineUntil: NOW + HOUR, ...NO_ATTEMPTS };
const history = (h: VmHistory): Map<string, VmHistory> => new Map([['a'.repeat(32), h]]);
/** The tag GuestTools::InstallFailed, written at `at`. */
const failedTag = (at: number): Partial<VmFacts> => ({ tagVersions: ['InstallFailed'], installFailedAt: at });
const thirdAttachLongAgo: VmHistory = { ...recentAttach, lastAttachAt: NOW - 25 * HOUR, attempts: 3, attemptsTarget: '1.2.0' };

/** Installs in the guest (DESIGN.md 2.7): on for every VM, ZStack's Linux procedure, no Windows command. */
function installs(patch: { state?: InstallState; target?: string; startedAt?: number; mounted?: string | null; windows?: boolean } = {}): PlanInstall {
  const uuid = 'a'.repeat(32);
  return {
    enabledFor: () => true,
    commands: { linux: true, windows: patch.windows ?? false },
    history: patch.state ? new Map([[uuid, { target: patch.target ?? '1.2.0', state: patch.state, startedAt: patch.startedAt ?? NOW - HOUR }]]) : new Map(),
    mounted: patch.mounted === null ? new Map() : new Map([[uuid, { target: patch.mounted ?? '1.2.0' }]]),
  };
}
const agent = { agentRunning: true, reportedVersion: '1.0.0' };

const cases: { name: string; vm: Partial<VmFacts>; in?: Partial<PlanInput>; policy?: Partial<PlanInput['policy']>; want: string; target?: string | null }[] = [
  { name: 'older tag is attached', vm: {}, want: 'attach/outdated', target: '1.2.0' },
  { name: 'untagged with attachUntagged', vm: { tagVersions: [] }, policy: { attachUntagged: true }, want: 'attach/untagged' },
  { name: 'excluded by exclude selector', vm: {}, policy: { exclude: { clusterUuids: ['cluster1'] } }, want: 'skip/excluded' },
  { name: 'not selected by include', vm: {}, policy: { include: { zoneUuids: ['zone9'] } }, want: 'skip/excluded' },
  { name: 'selected by include tag', vm: { tags: ['gt-canary'] }, policy: { include: { tags: ['gt-canary'] } }, want: 'attach/outdated' },
  { name: 'appliance VM', vm: { type: 'ApplianceVm' }, want: 'skip/not-user-vm' },
  { name: 'ESX VM', vm: { hypervisorType: 'ESX' }, want: 'skip/unsupported-hypervisor' },
  { name: 'Windows on aarch64 has no ISO', vm: { platform: 'Windows', architecture: 'aarch64' }, want: 'skip/no-iso', target: null },
  { name: 'untagged by default', vm: { tagVersions: [] }, want: 'skip/untagged' },
  { name: 'empty tag value is unparseable', vm: { tagVersions: [''] }, want: 'skip/unparseable-tag' },
  { name: 'garbage tag', vm: { tagVersions: ['1.2.x'] }, want: 'skip/unparseable-tag' },
  { name: 'equal version', vm: { tagVersions: ['1.2.0'] }, want: 'skip/up-to-date' },
  { name: 'loose 1.2 equals 1.2.0', vm: { tagVersions: ['1.2'] }, want: 'skip/up-to-date' },
  { name: 'newer than ISO: never downgrade', vm: { tagVersions: ['1.2.0.1'] }, want: 'skip/ahead' },
  { name: 'aarch64 Linux uses its own higher ISO', vm: { architecture: 'aarch64', tagVersions: ['1.2.0'] }, want: 'attach/outdated', target: '1.3.0' },
  { name: 'guest report wins over tag', vm: { tagVersions: ['1.0.0'], reportedVersion: '1.2.0' }, want: 'skip/up-to-date' },
  { name: 'several tags: highest counts', vm: { tagVersions: ['1.0.0', '1.2.0'] }, want: 'skip/up-to-date' },
  { name: 'no CD-ROM', vm: { hasCdRom: false }, want: 'skip/no-cdrom' },
  { name: 'catalog mismatch', vm: {}, in: { mismatchedGroups: new Set(['LinuxOnKvm/x86_64']) }, want: 'skip/catalog-mismatch' },
  { name: 'quarantined', vm: {}, in: { history: new Map([['a'.repeat(32), { ...quarantined }]]) }, want: 'defer/quarantined' },
  { name: 'quarantine over', vm: {}, in: { history: new Map([['a'.repeat(32), { ...quarantined, quarantineUntil: NOW - 1 }]]) }, want: 'attach/outdated' },
  { name: 'attached recently for same target', vm: {}, in: { history: new Map([['a'.repeat(32), recentAttach]]) }, want: 'defer/awaiting-install' },
  { name: 'attached long ago: attach again', vm: {}, in: { history: new Map([['a'.repeat(32), { ...recentAttach, lastAttachAt: NOW - 25 * HOUR }]]) }, want: 'attach/outdated' },
  { name: 'recent attach failed: retry (quarantine handles repeats)', vm: {}, in: { history: new Map([['a'.repeat(32), { ...recentAttach, consecutiveFailures: 1, lastAttachFailed: true }]]) }, want: 'attach/outdated' },
  { name: 'an attach started after a failure waits: the failure streak does not decide', vm: {}, in: { history: new Map([['a'.repeat(32), { ...recentAttach, consecutiveFailures: 2, lastAttachFailed: false }]]) }, want: 'defer/awaiting-install' },
  { name: 'attached recently for an older target', vm: {}, in: { history: new Map([['a'.repeat(32), { ...recentAttach, lastAttachTarget: '1.1.0' }]]) }, want: 'attach/outdated' },
  // The MN's guestToolsHasAttached tag: an attach this ledger does not know of (another node, a replaced database).
  { name: 'attached elsewhere within reattachAfter', vm: { attachedAt: NOW - HOUR }, want: 'defer/awaiting-install' },
  { name: 'attached elsewhere long ago: attach', vm: { attachedAt: NOW - 25 * HOUR }, want: 'attach/outdated' },
  { name: 'attached elsewhere, our own attach long ago', vm: { attachedAt: NOW - HOUR }, in: { history: history({ ...recentAttach, lastAttachAt: NOW - 25 * HOUR }) }, want: 'defer/awaiting-install' },
  { name: 'our own recent attach of an older target explains the tag: attach the new one', vm: { attachedAt: NOW - HOUR }, in: { history: history({ ...recentAttach, lastAttachTarget: '1.1.0' }) }, want: 'attach/outdated' },
  { name: 'attached elsewhere but on target: up-to-date', vm: { attachedAt: NOW - HOUR, tagVersions: ['1.2.0'] }, want: 'skip/up-to-date' },
  { name: 'attached elsewhere and stopped: awaiting-install first', vm: { attachedAt: NOW - HOUR, state: 'Stopped' }, want: 'defer/awaiting-install' },
  { name: 'quarantined beats attached elsewhere', vm: { attachedAt: NOW - HOUR }, in: { history: history(quarantined) }, want: 'defer/quarantined' },
  { name: 'no architecture is never assumed x86_64', vm: { architecture: null }, want: 'skip/unknown-architecture', target: null },
  { name: 'maxAttempts unconfirmed attaches, reattachAfter passed', vm: {}, in: { history: history(thirdAttachLongAgo) }, want: 'skip/not-converging' },
  { name: 'maxAttempts reached but within reattachAfter: still awaiting', vm: {}, in: { history: history({ ...thirdAttachLongAgo, lastAttachAt: NOW - HOUR }) }, want: 'defer/awaiting-install' },
  { name: 'fewer attempts: attach again', vm: {}, in: { history: history({ ...thirdAttachLongAgo, attempts: 2 }) }, want: 'attach/outdated' },
  { name: 'attempts of an older target do not count', vm: {}, in: { history: history({ ...thirdAttachLongAgo, attemptsTarget: '1.1.0', lastAttachTarget: '1.1.0' }) }, want: 'attach/outdated' },
  { name: 'not-converging even when the guest regressed after confirming', vm: { reportedVersion: '1.1.0' }, in: { history: history(thirdAttachLongAgo) }, want: 'skip/not-converging' },
  { name: 'up-to-date beats not-converging', vm: { reportedVersion: '1.2.0' }, in: { history: history(thirdAttachLongAgo) }, want: 'skip/up-to-date' },
  { name: 'our own sent tag is no evidence: awaiting install', vm: { tagVersions: ['1.2.0'] }, in: { history: history({ ...recentAttach, lastAttachTagged: true }) }, want: 'defer/awaiting-install' },
  { name: 'our own sent tag, later run: attach again', vm: { tagVersions: ['1.2'] }, in: { history: history({ ...recentAttach, lastAttachAt: NOW - 25 * HOUR, lastAttachTagged: true }) }, want: 'attach/outdated' },
  { name: 'a guest report of the target is evidence even after a sent tag', vm: { tagVersions: ['1.2.0'], reportedVersion: '1.2.0' }, in: { history: history({ ...recentAttach, lastAttachTagged: true }) }, want: 'skip/up-to-date' },
  { name: 'a tag we did not send is evidence', vm: { tagVersions: ['1.2.0'] }, in: { history: history(recentAttach) }, want: 'skip/up-to-date' },
  { name: 'failed catalog probe', vm: {}, in: { unverifiedGroups: new Map([['LinuxOnKvm/x86_64', 'timeout']]) }, want: 'defer/catalog-unverified' },
  { name: 'user ISO in CD-ROM 0', vm: { cdRomIsoUuid: 'f'.repeat(32) }, want: 'defer/cdrom-busy' },
  { name: 'user ISO in CD-ROM 0 with ejectUserIso', vm: { cdRomIsoUuid: 'f'.repeat(32) }, policy: { ejectUserIso: true }, want: 'attach/outdated' },
  { name: 'stopped', vm: { state: 'Stopped', hostUuid: null }, want: 'defer/not-running' },
  { name: 'outside window', vm: {}, in: { gates: [closedWindow()] }, want: 'defer/outside-window' },
  { name: 'gated by a rollout', vm: {}, in: { gates: [gate('not-in-wave')] }, want: 'defer/not-in-wave' },
  { name: 'new ISO soaking', vm: {}, in: { gates: [gate('iso-soak')] }, want: 'defer/iso-soak' },
  { name: 'gate allows', vm: {}, in: { gates: [gate(null)] }, want: 'attach/outdated' },
  { name: 'the refusal first by precedence wins, whatever the gate order', vm: {}, in: { gates: [gate(null), gate('not-in-wave'), gate('iso-soak')] }, want: 'defer/iso-soak' },
  { name: 'stopped VM is not-running before the gate', vm: { state: 'Stopped' }, in: { gates: [gate('iso-soak')] }, want: 'defer/not-running' },
  // Installs in the guest.
  { name: 'our ISO mounted, agent runs, no install yet: install', vm: agent, in: { history: history(recentAttach), install: installs() }, want: 'install/attached' },
  { name: 'install: no running agent stays awaiting-install', vm: { agentRunning: false }, in: { history: history(recentAttach), install: installs() }, want: 'defer/awaiting-install' },
  { name: 'install: Windows without a command stays awaiting-install', vm: { ...agent, platform: 'Windows' }, in: { history: history(recentAttach), install: installs() }, want: 'defer/awaiting-install' },
  { name: 'install: Windows with a command is installed', vm: { ...agent, platform: 'Windows' }, in: { history: history(recentAttach), install: installs({ windows: true }) }, want: 'install/attached' },
  { name: 'install: the ISO is not ours (or was detached): awaiting-install', vm: agent, in: { history: history(recentAttach), install: installs({ mounted: null }) }, want: 'defer/awaiting-install' },
  { name: 'install: an earlier target is mounted', vm: agent, in: { history: history(recentAttach), install: installs({ mounted: '1.1.0' }) }, want: 'defer/awaiting-install' },
  { name: 'install in flight: installing', vm: agent, in: { history: history(recentAttach), install: installs({ state: 'installing' }) }, want: 'defer/installing' },
  { name: 'install failed for the target: install-failed until retry', vm: agent, in: { history: history(recentAttach), install: installs({ state: 'install-failed' }) }, want: 'skip/install-failed' },
  { name: 'install failed for an older target: attach the new one', vm: agent, in: { install: installs({ state: 'install-failed', target: '1.1.0' }) }, want: 'attach/outdated' },
  { name: 'install re-armed by retry: install again', vm: agent, in: { history: history(recentAttach), install: installs({ state: 'rearmed' }) }, want: 'install/attached' },
  { name: 'no evidence within reattachAfter: never a second install', vm: agent, in: { history: history(recentAttach), install: installs({ state: 'failed' }) }, want: 'defer/awaiting-install' },
  { name: 'install gated by a paused rollout', vm: agent, in: { history: history(recentAttach), install: installs(), gates: [gate('not-in-wave')] }, want: 'defer/not-in-wave' },
  { name: 'install-failed beats not-converging', vm: agent, in: { history: history(thirdAttachLongAgo), install: installs({ state: 'install-failed' }) }, want: 'skip/install-failed' },
  { name: 'installing beats awaiting-install and quarantined comes first', vm: agent, in: { history: history({ ...recentAttach, quarantineUntil: NOW + HOUR }), install: installs({ state: 'installing' }) }, want: 'defer/quarantined' },
  // The guest's installer reported GuestTools::InstallFailed (the tag replaces the version tag).
  { name: 'installer failed after our attach (a person ran it): install-failed', vm: failedTag(NOW - 60_000), in: { history: history(recentAttach) }, want: 'skip/install-failed' },
  { name: 'installer failed after our attach, the agent still reports the old version: install-failed', vm: { ...failedTag(NOW - 60_000), reportedVersion: '1.0.0' }, in: { history: history(recentAttach) }, want: 'skip/install-failed' },
  { name: 'installer failed long after our attach: not attached again', vm: failedTag(NOW - HOUR), in: { history: history({ ...recentAttach, lastAttachAt: NOW - 25 * HOUR }) }, want: 'skip/install-failed' },
  { name: 'installer failed in the second of our attach (whole-second dates)', vm: failedTag(Math.floor((NOW - HOUR + 400) / 1000) * 1000), in: { history: history({ ...recentAttach, lastAttachAt: NOW - HOUR + 400 }) }, want: 'skip/install-failed' },
  { name: 'a failure reported before our attach is not about it', vm: { ...failedTag(NOW - 2 * HOUR), reportedVersion: '1.0.0' }, in: { history: history(recentAttach) }, want: 'defer/awaiting-install' },
  { name: 'a failure reported before gtr retry is forgotten', vm: { ...failedTag(NOW - 30 * 60_000), reportedVersion: '1.0.0' }, in: { history: history({ ...recentAttach, retriedAt: NOW - 10 * 60_000 }) }, want: 'defer/awaiting-install' },
  { name: 'a failure reported after gtr retry counts', vm: failedTag(NOW - 5 * 60_000), in: { history: history({ ...recentAttach, retriedAt: NOW - 10 * 60_000 }) }, want: 'skip/install-failed' },
  { name: 'a failure after our attach of an older target: attach the new one', vm: { ...failedTag(NOW - 60_000), reportedVersion: '1.0.0' }, in: { history: history({ ...recentAttach, lastAttachTarget: '1.1.0' }) }, want: 'attach/outdated' },
  { name: 'InstallFailed without an attach of ours is not a version', vm: failedTag(NOW - 60_000), want: 'skip/unparseable-tag' },
  { name: 'the guest reports the target after all: up-to-date', vm: { ...failedTag(NOW - 60_000), reportedVersion: '1.2.0' }, in: { history: history(recentAttach) }, want: 'skip/up-to-date' },
  // Precedence (docs/reference/reasons.md).
  { name: 'stopped, outdated, no CD-ROM -> no-cdrom', vm: { state: 'Stopped', hasCdRom: false }, want: 'skip/no-cdrom' },
  { name: 'stopped up-to-date -> up-to-date', vm: { state: 'Stopped', tagVersions: ['1.2.0'] }, want: 'skip/up-to-date' },
  { name: 'excluded appliance -> excluded', vm: { type: 'ApplianceVm' }, policy: { exclude: { vmUuids: ['a'.repeat(32)] } }, want: 'skip/excluded' },
  { name: 'appliance on ESX -> not-user-vm', vm: { type: 'ApplianceVm', hypervisorType: 'ESX' }, want: 'skip/not-user-vm' },
  { name: 'untagged without ISO -> no-iso', vm: { tagVersions: [], platform: 'Windows', architecture: 'mips64el' }, want: 'skip/no-iso' },
  { name: 'quarantined and stopped -> quarantined', vm: { state: 'Stopped' }, in: { history: new Map([['a'.repeat(32), { ...quarantined }]]) }, want: 'defer/quarantined' },
  { name: 'stopped outside window -> not-running', vm: { state: 'Stopped' }, in: { gates: [closedWindow()] }, want: 'defer/not-running' },
  { name: 'not-converging beats catalog-unverified', vm: {}, in: { history: history(thirdAttachLongAgo), unverifiedGroups: new Map([['LinuxOnKvm/x86_64', 'x']]) }, want: 'skip/not-converging' },
  { name: 'catalog-unverified beats quarantined', vm: {}, in: { history: history(quarantined), unverifiedGroups: new Map([['LinuxOnKvm/x86_64', 'x']]) }, want: 'defer/catalog-unverified' },
  { name: 'stopped with a user ISO -> not-running', vm: { state: 'Stopped', cdRomIsoUuid: 'f'.repeat(32) }, want: 'defer/not-running' },
  { name: 'user ISO beats iso-soak and window', vm: { cdRomIsoUuid: 'f'.repeat(32) }, in: { gates: [closedWindow(), gate('iso-soak')] }, want: 'defer/cdrom-busy' },
  { name: 'iso-soak beats outside-window', vm: {}, in: { gates: [closedWindow(), gate('iso-soak')] }, want: 'defer/iso-soak' },
  { name: 'outside-window beats not-in-wave', vm: {}, in: { gates: [closedWindow(), gate('not-in-wave')] }, want: 'defer/outside-window' },
  { name: 'unknown architecture beats no-iso and untagged', vm: { architecture: null, tagVersions: [] }, want: 'skip/unknown-architecture' },
  { name: 'mismatch beats defer reasons', vm: { state: 'Stopped' }, in: { mismatchedGroups: new Set(['LinuxOnKvm/x86_64']) }, want: 'skip/catalog-mismatch' },
];

for (const c of cases) {
  test(`plan: ${c.name} -> ${c.want}`, () => {
    const plan = planRun(input([vm(c.vm)], c.in, c.policy));
    const d = plan.decisions[0];
    assert.equal(`${d.action}/${d.reason}`, c.want);
    if (c.target !== undefined) assert.equal(d.target, c.target);
  });
}

test('plan: a failed probe and a user ISO say why in the message; our own tag is named', () => {
  const [probe] = planRun(input([vm()], { unverifiedGroups: new Map([['LinuxOnKvm/x86_64', 'GetLatestGuestToolsForVm: timed out']]) })).decisions;
  assert.equal(probe.message, 'catalog probe failed: GetLatestGuestToolsForVm: timed out');
  const [busy] = planRun(input([vm({ cdRomIsoUuid: 'f'.repeat(32) })])).decisions;
  assert.match(busy.message ?? '', /CD-ROM 0 holds ISO f{32}/);
  const [own] = planRun(input([vm({ tagVersions: ['1.2.0'] })], { history: history({ ...recentAttach, lastAttachTagged: true }) })).decisions;
  assert.match(own.message ?? '', /GuestTools::1\.2\.0 was sent by this reconciler/);
  const [elsewhere] = planRun(input([vm({ attachedAt: NOW - HOUR })])).decisions;
  assert.equal(elsewhere.message, `attached at ${new Date(NOW - HOUR).toISOString()} (the MN's guestToolsHasAttached tag), not by this database`);
  const [ours] = planRun(input([vm({ attachedAt: NOW - HOUR })], { history: history(recentAttach) })).decisions;
  assert.equal(ours.message, null, 'our own attach needs no note');
  const [failed] = planRun(input([vm({ tagVersions: ['InstallFailed'], installFailedAt: NOW - 60_000 })], { history: history(recentAttach) })).decisions;
  assert.equal(failed.message, `the guest's installer reported GuestTools::InstallFailed at ${new Date(NOW - 60_000).toISOString()}, after the attach`);
});

test('plan: each decision says where its version comes from (our own tag is sent-tag) and whether a guest agent runs', () => {
  const one = (patch: Partial<VmFacts>, h?: VmHistory) => planRun(input([vm(patch)], h ? { history: history(h) } : {})).decisions[0];
  assert.equal(one({ reportedVersion: '1.0.0' }).source, 'guest');
  assert.equal(one({}).source, 'tag');
  assert.equal(one({ tagVersions: [] }).source, null);
  assert.equal(one({ tagVersions: ['1.2.0'] }, { ...recentAttach, lastAttachTagged: true }).source, 'sent-tag', 'the tag we sent is no evidence');
  assert.equal(one({ tagVersions: ['1.2.0'] }, recentAttach).source, 'tag', 'a tag we did not send is');
  assert.equal(one({}).guestAgent, false, 'tag only: no agent');
  assert.equal(one({ reportedVersion: '1.0.0', agentRunning: true }).guestAgent, true);
  assert.equal(one({ agentRunning: true }).guestAgent, true, 'qgaState Running before its first version is an agent');
});

test('plan: every reason code is documented and every skip/defer reason is reachable by the table or the run-limit test', () => {
  const covered = new Set(cases.map((c) => c.want));
  covered.add('defer/run-limit');
  // Applied by apply's gates, tested end to end.
  for (const r of ['budget-halted', 'shutdown', 'lease-lost', 'not-leader']) covered.add(`defer/${r}`);
  for (const r of ATTACH_REASONS) assert.ok(covered.has(`attach/${r}`), `attach/${r}`);
  for (const r of INSTALL_REASONS) assert.ok(covered.has(`install/${r}`), `install/${r}`);
  for (const r of SKIP_REASONS) assert.ok(covered.has(`skip/${r}`), `skip/${r}`);
  for (const r of DEFER_REASONS) assert.ok(covered.has(`defer/${r}`), `defer/${r}`);
  for (const key of covered) assert.ok(REASONS[key as keyof typeof REASONS]?.help, `REASONS lacks ${key}`);
});

test('plan: maxPerRun defers the attaches past the limit, in uuid order', () => {
  const vms = ['c', 'a', 'd', 'b'].map((ch) => vm({ uuid: ch.repeat(32), name: `vm-${ch}` }));
  const plan = planRun(input(vms, {}, { maxPerRun: 2 }));
  assert.deepEqual(
    plan.decisions.map((d) => `${d.vmName}:${d.action}/${d.reason}`),
    ['vm-a:attach/outdated', 'vm-b:attach/outdated', 'vm-c:defer/run-limit', 'vm-d:defer/run-limit'],
  );
});

test('plan: same inputs give the same hash whatever the inventory order; a changed decision changes it', () => {
  const vms = ['a', 'b', 'c'].map((ch) => vm({ uuid: ch.repeat(32) }));
  const one = planRun(input(vms));
  const two = planRun(input([...vms].reverse()));
  assert.match(one.hash, /^sha256:[0-9a-f]{64}$/);
  assert.equal(one.hash, two.hash);
  const three = planRun(input([vms[0], vms[1], vm({ uuid: 'c'.repeat(32), tagVersions: ['1.2.0'] })]));
  assert.notEqual(three.hash, one.hash);
});
