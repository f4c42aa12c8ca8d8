// The validated, frozen configuration (DESIGN.md section 4). Durations are milliseconds,
// limits are either a count or a percentage of the run's attach set.

import type { WebhookConfig } from './notify-fields.js';
import type { LeaderCheckConfig } from './ha-fields.js';
import type { Limit } from './count-or-percent.js';

export type { Limit };

export interface Selector {
  zoneUuids?: string[];
  clusterUuids?: string[];
  hostUuids?: string[];
  vmUuids?: string[];
  platforms?: string[];
  /** Tags (system or user) on the VM, matched exactly. */
  tags?: string[];
}

export interface MaintenanceWindow {
  /** Days the window starts on: 'mon'..'sun'. Empty means every day. */
  days: string[];
  /** 'HH:MM' in schedule.timezone; end <= start means the window crosses midnight. */
  start: string;
  end: string;
}

export interface Config {
  zstack: {
    endpoint: string;
    accountName: string;
    /** Plaintext password; never logged. Either from `password` or read from `passwordFile`. */
    password: string | null;
    passwordFile: string | null;
    /** AccessKey authentication instead of a password: every request signed, no session. */
    accessKeyId: string | null;
    /** Never logged. Either from `accessKeySecret` or read from `accessKeySecretFile`. */
    accessKeySecret: string | null;
    accessKeySecretFile: string | null;
    requestTimeoutMs: number;
    pageSize: number;
    jobPollIntervalMs: number;
    jobTimeoutMs: number;
    recordVersionTag: boolean;
    tls: { caFile: string | null; rejectUnauthorized: boolean };
  };
  isoDir: string;
  database: string;
  schedule: {
    cron: string;
    timezone: string;
    windows: MaintenanceWindow[];
    jitterMs: number;
  };
  policy: {
    maxConcurrency: Limit;
    maxPerHost: number;
    maxErrors: Limit;
    maxPerRun: number;
    attachUntagged: boolean;
    allowPrerelease: boolean;
    reattachAfterMs: number;
    /** Failures in a row before a VM is quarantined. */
    quarantineAfter: number;
    /** First quarantine length; doubles with each further failure, capped at 7 days. */
    quarantineBaseMs: number;
    /** Attaches of one target to one VM without the guest confirming it; then skip/not-converging. */
    maxAttempts: number;
    /** Attach even when CD-ROM 0 holds a user's image-store ISO (the attach ejects it). */
    ejectUserIso: boolean;
    include: Selector | null;
    exclude: Selector | null;
    /** 'auto': the daemon attaches on its own; 'rollout': only through rollouts (gtr rollout). */
    mode: 'auto' | 'rollout';
    /** In auto mode, a newly seen ISO version is not attached before this has passed. */
    isoSoakMs: number;
    /** Detach the GuestTools ISO (and the Windows temp disk) from VMs this reconciler attached once verified. */
    detachAfterVerify: boolean;
  };
  /** Installing in the guest through ZStack's script library (DESIGN.md 2.7). */
  install: {
    /** 'off': attach only; 'qga': run the installer in guests whose agent runs. */
    mode: 'off' | 'qga';
    /** Installs in flight (VMs per ExecuteGuestVmScript batch, and at most one batch at a time). */
    maxConcurrency: number;
    /** After the launcher ran, wait this long before reading the guest's evidence. */
    settleMs: number;
    /** No evidence by this long after the launch: `failed` with `no-evidence`. */
    timeoutMs: number;
    /** null: ZStack's own procedure (src/apply/install-commands.ts). */
    linux: { command: string | null };
    /** null: no install on Windows (the installer's silent switches are not published). */
    windows: { command: string | null };
  };
  rollout: {
    /** Start a rollout by itself when a new ISO version has out-of-date VMs. */
    autoStart: boolean;
    /** Default `--waves`, validated text such as "1,10%,50%,100%". */
    waves: string;
    soakMs: number;
    waveTimeoutMs: number;
    maxErrors: Limit;
  };
  ledger: {
    retainDays: number;
    retainRuns: number;
  };
  http: {
    listen: string;
    /** Required unless `listen` is a loopback address: a bearer token file and/or an htpasswd-style file. */
    auth: { tokenFile: string | null; basicFile: string | null };
  };
  notify: { webhooks: WebhookConfig[] };
  ha: {
    /** Only the leader attaches; 'none' makes every node a leader (one MN). */
    leaderCheck: LeaderCheckConfig;
    /** The other MN's daemon (its http.listen base URL); the standby pulls the leader's ledger from it. */
    peer: string | null;
    syncIntervalMs: number;
    /** The token both nodes share for the peer endpoints (/ha/*); required with ha.peer. */
    tokenFile: string | null;
  };
  log: { level: string };
}
