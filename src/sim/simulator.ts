// startSimulator(): wires the world, sessions, jobs, faults and guest-tools logic to a node:http server.
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AccessKeys } from './access-keys.js';
import { AttachStats } from './attach-stats.js';
import { Sessions } from './auth.js';
import { Faults } from './faults.js';
import { generateFleet } from './fleet.js';
import { GuestOs } from './guest-os.js';
import { GuestTools } from './guest-tools.js';
import { Jobs } from './jobs.js';
import { mnFeatures } from './mn-version.js';
import { QueryEngine, type Resource } from './query.js';
import { cdRomResource, guestStateResource, tagPatternResource, tagResource, userTagResource, vmResource } from './resources.js';
import { mulberry32 } from './rng.js';
import { ScriptLibrary } from './script-library.js';
import { detailResource, recordResource, scriptResource } from './script-resources.js';
import { SCRIPT_STATUS_PRESETS, ScriptStore } from './script-store.js';
import { createHandler } from './server.js';
import { TimerSet } from './timers.js';
import { JobHold } from './job-hold.js';
import { RequestHolds } from './request-holds.js';
import type { CallRecord, FaultOptions, SimIso, SimOptions, SimVm, Simulator } from './types.js';
import { DEFAULT_ISOS, World } from './world.js';

function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startSimulator(opts: SimOptions = {}): Promise<Simulator> {
  const accountName = opts.accountName ?? 'admin';
  const password = opts.password ?? 'password';
  const fleet: SimVm[] = Array.isArray(opts.fleet) ? opts.fleet : opts.fleet ? generateFleet(opts.fleet) : [];
  const seed = Array.isArray(opts.fleet) ? 1 : (opts.fleet?.seed ?? 1);

  const world = new World(seed, accountName);
  world.setIsos(opts.isos ?? DEFAULT_ISOS);
  const created = Date.now();
  fleet.forEach((vm, i) => world.addVm(vm, created - (fleet.length - i) * 1000));

  const sessions = new Sessions(accountName, password, opts.sessionTimeoutMs ?? 7_200_000);
  const accessKeys = new AccessKeys(opts.accessKeys ?? [], { moduleInstalled: opts.accessKeyModule, clockSkewMs: opts.clockSkewMs });
  const mn = mnFeatures(opts.mnVersion);
  const features = { ...mn, scriptLibrary: opts.scriptLibrary ?? mn.scriptLibrary };
  const faults = new Faults(opts.faults);
  sessions.expireAfterCalls = faults.sessionExpireAfterCalls;
  const jobs = new Jobs();
  const stats = new AttachStats();
  const jobTimers = new TimerSet();
  const guestTimers = new TimerSet();
  const hold = new JobHold();
  const requestTimers = new TimerSet();
  const holds = new RequestHolds();
  const calls: CallRecord[] = [];
  const jobDurationMs = opts.jobDurationMs ?? 20;
  const installHold = new JobHold();
  const scriptHold = new JobHold();
  const guestOs = new GuestOs({
    world, guestTimers, installHold,
    opts: {
      installMs: opts.guests?.installMs ?? 20, agentRestartMs: opts.guests?.agentRestartMs ?? 10,
      rowLagMs: opts.guests?.rowLagMs === undefined ? 0 : opts.guests.rowLagMs,
      windowsInstaller: opts.guests?.windowsInstaller ?? 'GuestToolsSetup.exe',
    },
  });
  const store = new ScriptStore();
  const statuses = opts.scripts?.statuses ?? 'Succeed';
  const scripts = new ScriptLibrary({
    world, store, jobs, faults, guestOs, jobTimers, hold: scriptHold, rng: mulberry32(seed ^ 0x5c41),
    opts: {
      jobDurationMs, scriptMs: opts.scripts?.scriptMs ?? jobDurationMs,
      statuses: typeof statuses === 'string' ? SCRIPT_STATUS_PRESETS[statuses] : statuses,
      unreachableVms: opts.scripts?.unreachableVms ?? 'detail', stderrFails: opts.scripts?.stderrFails ?? true,
      encodingType: features.scriptEncodingType, accountName,
    },
  });
  const guestTools = new GuestTools({
    world, jobs, faults, stats, jobTimers, guestTimers, hold,
    opts: {
      jobDurationMs,
      recordVersionTag: opts.recordVersionTag ?? false,
      recreateAttachedTag: opts.recreateAttachedTag ?? false,
      installDelayMs: opts.guests?.installDelayMs ?? 0,
      installShare: opts.guests?.installShare ?? 0,
      guestSeed: opts.guests?.seed ?? 1,
      stateTable: features.guestToolsStateField !== null,
    },
  });

  const host = opts.host ?? '127.0.0.1';
  let address = '';
  const handler = createHandler({
    world, sessions, accessKeys, features, jobs, faults, guestTools, guestOs, scripts, calls, timers: requestTimers, holds,
    query: new QueryEngine(() => world.version, { cacheReplies: opts.cacheReplies ?? false }),
    scriptQuery: new QueryEngine(() => store.version),
    detachApi: opts.detachApi ?? true,
    resources: {
      script: scriptResource(store, features.scriptEncodingType) as Resource<unknown>,
      record: recordResource(store, features.scriptEncodingType) as Resource<unknown>,
      detail: detailResource(store) as Resource<unknown>,
      vm: vmResource(world) as Resource<unknown>, cdrom: cdRomResource(world) as Resource<unknown>,
      tag: tagResource(world) as Resource<unknown>, tagPattern: tagPatternResource(world) as Resource<unknown>,
      userTag: userTagResource(world) as Resource<unknown>,
      guest: guestStateResource(world, features.guestToolsStateField ?? undefined) as Resource<unknown>,
    },
    locationHost: () => opts.locationHost ?? address,
  });
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createServer(handler);
  server.keepAliveTimeout = 10_000;
  const info = await listen(server, host, opts.port ?? 0);
  address = `${hostForUrl(host)}:${info.port}`;

  let closed: Promise<void> | null = null;
  const sim: Simulator = {
    endpoint: `${opts.tls ? 'https' : 'http'}://${address}`,
    accountName,
    password,
    calls,
    requestsByApi() {
      const out: Record<string, number> = {};
      for (const c of calls) out[c.api] = (out[c.api] ?? 0) + 1;
      return out;
    },
    attachesStarted: () => stats.started.map((a) => ({ ...a, systemTags: [...a.systemTags] })),
    get attachInFlight() {
      return stats.inFlight;
    },
    get maxAttachInFlight() {
      return stats.maxInFlight;
    },
    maxAttachInFlightPerHost: () => stats.maxPerHost,
    vm: (uuid) => world.snapshot(uuid),
    vms: () => world.vmList().map((r) => world.snapshot(r.uuid) as SimVm),
    addVm: (vm) => world.addVm(vm),
    updateVm: (uuid, patch) => world.updateVm(uuid, patch),
    removeVm: (uuid) => world.removeVm(uuid),
    setIsos: (isos: SimIso[]) => world.setIsos(isos),
    guestReport: (vmUuid, version) => world.guestReport(vmUuid, version),
    setFaults(f: FaultOptions) {
      faults.set(f);
      sessions.expireAfterCalls = f.sessionExpireAfterCalls;
    },
    faultsInjected: () => ({ ...faults.injected }),
    sessionsIssued: () => [...sessions.issued],
    restart() {
      faults.count('restart');
      sessions.clear();
      jobTimers.clear();
      hold.drop();
      jobs.clear();
      guestTools.reset();
      scripts.reset();
      stats.dropRunning();
    },
    expireSessions: () => sessions.clear(),
    holdAttachJobs: () => hold.hold(),
    ageTags: (ms) => world.tags.age(ms),
    releaseAttachJobs: () => hold.release(),
    guestView(uuid) {
      const row = world.getVm(uuid);
      return row ? guestOs.view(row) : undefined;
    },
    installerRuns: () => guestOs.runs.map((r) => ({ ...r })),
    installByHand: (vmUuid) => {
      const vm = world.getVm(vmUuid);
      if (!vm) throw new Error(`no VM ${vmUuid}`);
      guestOs.installByHand(vm);
    },
    scriptExecutions: () => scripts.executions.map((e) => ({ ...e, vmUuids: [...e.vmUuids] })),
    scriptOverlaps: () => [...scripts.overlaps],
    holdScripts: () => scriptHold.hold(),
    releaseScripts: () => scriptHold.release(),
    holdInstalls: () => installHold.hold(),
    releaseInstalls: () => installHold.release(),
    holdRequest: (spec) => holds.hold(spec),
    mnVersion: features.version,
    setClockSkew: (ms) => {
      accessKeys.clockSkewMs = ms;
    },
    setAccessKeyState: (id, state) => accessKeys.setState(id, state),
    signaturesSeen: () => [...accessKeys.signatures],
    close() {
      closed ??= new Promise<void>((resolve) => {
        jobTimers.clear();
        guestTimers.clear();
        requestTimers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  return sim;
}
