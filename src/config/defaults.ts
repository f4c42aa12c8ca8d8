// The defaults, in the file's own shape and units (DESIGN.md section 4): the schema (schema.ts) takes
// each key's default from here and has exactly these keys. config/default.json holds the same values;
// a test keeps the two equal.

export const DEFAULT_CONFIG_PATH = '/etc/guesttools-reconciler/config.json';

export const DEFAULT_FILE_CONFIG = {
  /** config/schema.json for editors; read by no one else. */
  $schema: null,
  zstack: {
    endpoint: 'http://127.0.0.1:8080',
    accountName: 'admin',
    password: null,
    passwordFile: null,
    accessKeyId: null,
    accessKeySecret: null,
    accessKeySecretFile: null,
    requestTimeoutMs: 30_000,
    pageSize: 1000,
    jobPollIntervalMs: 1000,
    jobTimeoutMs: 1_800_000,
    recordVersionTag: false,
    tls: { caFile: null, rejectUnauthorized: true },
  },
  isoDir: '/opt/zstack-dvd',
  database: '/var/lib/guesttools-reconciler/state.db',
  schedule: { cron: '*/30 * * * *', timezone: null, windows: [], jitter: '0' },
  policy: {
    maxConcurrency: 10,
    maxPerHost: 2,
    maxErrors: '5%',
    maxPerRun: 0,
    attachUntagged: false,
    allowPrerelease: false,
    reattachAfter: '24h',
    quarantineAfter: 3,
    quarantineBase: '1h',
    maxAttempts: 3,
    ejectUserIso: false,
    include: null,
    exclude: null,
    mode: 'auto',
    isoSoak: '0',
    detachAfterVerify: true,
  },
  install: { mode: 'off', maxConcurrency: 10, settle: '3m', timeout: '30m', linux: { command: null }, windows: { command: null } },
  rollout: { autoStart: false, waves: '1,10%,50%,100%', soak: '30m', waveTimeout: '6h', maxErrors: '5%' },
  ledger: { retainDays: 90, retainRuns: 10_000 },
  http: { listen: '127.0.0.1:9477', auth: { tokenFile: null, basicFile: null } },
  notify: { webhooks: [] },
  ha: { leaderCheck: 'none', peer: null, syncInterval: '1m', tokenFile: null },
  log: { level: 'info' },
} as const;

/** Keys whose values are filesystem paths: relative ones resolve against the layer's base folder. */
export const PATH_KEYS = ['zstack.passwordFile', 'zstack.accessKeySecretFile', 'zstack.tls.caFile', 'isoDir', 'database', 'http.auth.tokenFile', 'http.auth.basicFile', 'ha.tokenFile'] as const;

/** Keys whose values are secrets: problems show "[redacted]" instead of the value. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['zstack.password', 'zstack.accessKeySecret']);

/** Environment variables and the keys they set. */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  GTR_ZSTACK_ENDPOINT: 'zstack.endpoint',
  GTR_ZSTACK_ACCOUNT: 'zstack.accountName',
  GTR_ZSTACK_PASSWORD: 'zstack.password',
  GTR_ZSTACK_PASSWORD_FILE: 'zstack.passwordFile',
  GTR_ZSTACK_ACCESS_KEY_ID: 'zstack.accessKeyId',
  GTR_ZSTACK_ACCESS_KEY_SECRET: 'zstack.accessKeySecret',
  GTR_ZSTACK_ACCESS_KEY_SECRET_FILE: 'zstack.accessKeySecretFile',
  GTR_ISO_DIR: 'isoDir',
  GTR_DATABASE: 'database',
  GTR_LOG_LEVEL: 'log.level',
};
