// The config schema: the file's keys (DESIGN.md section 4) mapped onto the Config interface, with the
// unit conversions (durations to milliseconds, limits to {kind, value}).
import type { Config } from './types.js';
import { DEFAULT_FILE_CONFIG } from './defaults.js';
import {
  bool,
  duration,
  httpUrl,
  integer,
  limit,
  listen,
  nonEmptyString,
  nullable,
  oneOf,
  positiveInt,
  positiveMs,
} from './fields.js';
import { cronExpression, timeZone, windows } from './schedule-fields.js';
import { selector } from './selector-field.js';
import { webhooks } from './notify-fields.js';
import { waveList } from './rollout-fields.js';
import { leaderCheck, peerUrl } from './ha-fields.js';
import { Section, type Reporter } from './section.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Validate a merged raw tree. Problems go to `report`; the result is only meaningful without any. */
export function buildConfig(raw: unknown, report: Reporter): Config {
  const root = new Section(raw, DEFAULT_FILE_CONFIG, '', report);
  const z = root.section('zstack');
  const tls = z.section('tls');
  const schedule = root.section('schedule');
  const policy = root.section('policy');
  const rollout = root.section('rollout');
  const install = root.section('install');
  const installLinux = install.section('linux');
  const installWindows = install.section('windows');
  const ledger = root.section('ledger');
  const http = root.section('http');
  const httpAuth = http.section('auth');
  const notify = root.section('notify');
  const ha = root.section('ha');
  const log = root.section('log');

  const config: Config = {
    zstack: {
      endpoint: z.read('endpoint', httpUrl),
      accountName: z.read('accountName', nonEmptyString),
      password: z.read('password', nullable(nonEmptyString)),
      passwordFile: z.read('passwordFile', nullable(nonEmptyString)),
      accessKeyId: z.read('accessKeyId', nullable(nonEmptyString)),
      accessKeySecret: z.read('accessKeySecret', nullable(nonEmptyString)),
      accessKeySecretFile: z.read('accessKeySecretFile', nullable(nonEmptyString)),
      requestTimeoutMs: z.read('requestTimeoutMs', positiveMs),
      pageSize: z.read('pageSize', integer(1, 10_000, 'an integer from 1 to 10000')),
      jobPollIntervalMs: z.read('jobPollIntervalMs', positiveMs),
      jobTimeoutMs: z.read('jobTimeoutMs', positiveMs),
      recordVersionTag: z.read('recordVersionTag', bool),
      tls: {
        caFile: tls.read('caFile', nullable(nonEmptyString)),
        rejectUnauthorized: tls.read('rejectUnauthorized', bool),
      },
    },
    isoDir: root.read('isoDir', nonEmptyString),
    database: root.read('database', nonEmptyString),
    schedule: {
      cron: schedule.read('cron', cronExpression),
      timezone: schedule.read('timezone', timeZone),
      windows: schedule.read('windows', windows),
      jitterMs: schedule.read('jitter', duration({ positive: false })),
    },
    policy: {
      maxConcurrency: policy.read('maxConcurrency', limit(1, '20%')),
      maxPerHost: policy.read('maxPerHost', positiveInt),
      maxErrors: policy.read('maxErrors', limit(0, '5%')),
      maxPerRun: policy.read('maxPerRun', integer(0, Number.MAX_SAFE_INTEGER, 'an integer >= 0 (0: no limit)')),
      attachUntagged: policy.read('attachUntagged', bool),
      allowPrerelease: policy.read('allowPrerelease', bool),
      // Must be positive: 0 would switch off the guards against attaching the same target twice.
      reattachAfterMs: policy.read('reattachAfter', duration({ positive: true })),
      quarantineAfter: policy.read('quarantineAfter', positiveInt),
      quarantineBaseMs: policy.read('quarantineBase', duration({ positive: true })),
      maxAttempts: policy.read('maxAttempts', positiveInt),
      ejectUserIso: policy.read('ejectUserIso', bool),
      include: policy.read('include', selector({ mustSelect: true })),
      exclude: policy.read('exclude', selector({ mustSelect: false })),
      mode: policy.read('mode', oneOf(['auto', 'rollout'] as const)),
      isoSoakMs: policy.read('isoSoak', duration({ positive: false })),
      detachAfterVerify: policy.read('detachAfterVerify', bool),
    },
    install: {
      mode: install.read('mode', oneOf(['off', 'qga'] as const)),
      maxConcurrency: install.read('maxConcurrency', integer(1, 10_000, 'an integer from 1 to 10000')),
      settleMs: install.read('settle', duration({ positive: false })),
      timeoutMs: install.read('timeout', duration({ positive: true })),
      linux: { command: installLinux.read('command', nullable(nonEmptyString)) },
      windows: { command: installWindows.read('command', nullable(nonEmptyString)) },
    },
    rollout: {
      autoStart: rollout.read('autoStart', bool),
      waves: rollout.read('waves', waveList),
      soakMs: rollout.read('soak', duration({ positive: false })),
      waveTimeoutMs: rollout.read('waveTimeout', duration({ positive: true })),
      maxErrors: rollout.read('maxErrors', limit(0, '5%')),
    },
    ledger: {
      retainDays: ledger.read('retainDays', integer(0, Number.MAX_SAFE_INTEGER, 'an integer >= 0 (0: keep forever)')),
      retainRuns: ledger.read('retainRuns', integer(0, Number.MAX_SAFE_INTEGER, 'an integer >= 0 (0: no limit)')),
    },
    http: {
      listen: http.read('listen', listen),
      auth: { tokenFile: httpAuth.read('tokenFile', nullable(nonEmptyString)), basicFile: httpAuth.read('basicFile', nullable(nonEmptyString)) },
    },
    notify: { webhooks: notify.read('webhooks', webhooks) },
    ha: {
      leaderCheck: ha.read('leaderCheck', leaderCheck),
      peer: ha.read('peer', nullable(peerUrl)),
      syncIntervalMs: ha.read('syncInterval', duration({ positive: true })),
      tokenFile: ha.read('tokenFile', nullable(nonEmptyString)),
    },
    log: { level: log.read('level', oneOf(LOG_LEVELS)) },
  };
  root.finish();
  return config;
}
