// One catalog of error codes and exit codes. Callers branch on `code` or `instanceof`, never on message
// text. Every code has an exit code; the CLI maps an uncaught GtrError to it without a stack trace.
// docs/reference/errors.md and exit-codes.md are generated from this file (npm run gen:docs).

export const EXIT = {
  ok: 0,
  someFailed: 1,
  usage: 2,
  unreachable: 3,
  budgetHalted: 4,
  leaseHeld: 5,
  rollout: 6,
  internal: 70,
} as const;

export type ExitName = keyof typeof EXIT;

/** What each exit code means (the signal exits 130 / 143 are in src/reconcile/exit-code.ts). */
export const EXIT_ABOUT: Readonly<Record<ExitName, string>> = {
  ok: 'nothing failed (also: nothing to do, dry runs, a catalog mismatch alone)',
  someFailed: 'some attaches failed',
  usage: 'usage or configuration error (also: database unusable, migration drift, no such run)',
  unreachable: 'ZStack unreachable, login or AccessKey refused, bad reply, or the ISO folder is missing, unreadable or holds no usable GuestTools ISO',
  budgetHalted: 'halted by the error budget',
  leaseHeld: 'another run holds the lease (the message names the holder), or this run lost its lease during the run ' +
    '(another process took it over: the attaches not started are `defer/lease-lost`), or this node is the standby of a pair ' +
    'of management nodes (`GTR_NOT_LEADER`; also when it lost leadership during the run), or it just became the leader and ' +
    "its ledger has not caught up with the peer's within 2 x `ha.syncInterval` (`GTR_HA_NOT_CAUGHT_UP`, nothing attached)",
  rollout: 'rollout commands: no such rollout, or a transition that is not allowed',
  internal: 'internal error (a bug: please report it)',
};

/** Each exit code's meaning in a few words, for the "Exit codes:" line of a command's --help (src/cli/exit-lines.ts). */
export const EXIT_SHORT: Readonly<Record<ExitName, string>> = {
  ok: 'ok',
  someFailed: 'some attaches failed',
  usage: 'usage or config',
  unreachable: 'ZStack unreachable / login refused / ISO folder unusable or without a GuestTools ISO',
  budgetHalted: 'halted by the error budget',
  leaseHeld: 'another run holds the lease',
  rollout: 'rollout errors',
  internal: 'internal error (a bug)',
};

const FIX_CONFIG = 'Fix the configuration (see config/example.jsonc) and try again.';

/** One error code: its exit code, what it means, and (optionally) what to do, printed by the CLI under the message. */
export interface ErrorEntry {
  readonly exit: number;
  readonly about: string;
  readonly hint?: string;
}

export const ERROR_CODES = {
  GTR_USAGE: { exit: EXIT.usage, about: 'bad command line: unknown command, flag or value', hint: 'Run "gtr --help" (or "gtr <command> --help") for usage.' },
  GTR_CONFIG_INVALID: { exit: EXIT.usage, about: 'the configuration has one or more invalid values', hint: FIX_CONFIG },
  GTR_CONFIG_UNREADABLE: { exit: EXIT.usage, about: 'a configuration or password file cannot be read or parsed', hint: FIX_CONFIG },
  GTR_CATALOG_UNUSABLE: { exit: EXIT.unreachable, about: 'the ISO folder is missing or cannot be read' },
  GTR_CATALOG_EMPTY: { exit: EXIT.unreachable, about: 'the ISO folder holds no usable GuestTools ISO (none, or only unparseable or ignored files)' },
  GTR_ZSTACK_UNREACHABLE: { exit: EXIT.unreachable, about: 'the management node could not be reached (connection, TLS or timeout)' },
  GTR_ZSTACK_LOGIN_REFUSED: { exit: EXIT.unreachable, about: 'the management node refused the login' },
  GTR_ZSTACK_ACCESS_KEY_REFUSED: { exit: EXIT.unreachable, about: 'the management node refused the AccessKey (unknown or disabled key, wrong secret, no AccessKey module, or clocks more than 15 minutes apart)' },
  GTR_ZSTACK_API: { exit: EXIT.unreachable, about: 'the management node answered with a ZStack error body' },
  GTR_ZSTACK_HTTP: { exit: EXIT.unreachable, about: 'the management node answered with an unexpected HTTP status and no ZStack error body' },
  GTR_ZSTACK_BAD_REPLY: { exit: EXIT.unreachable, about: 'the management node sent a reply that is not the expected JSON' },
  GTR_JOB_TIMEOUT: { exit: EXIT.unreachable, about: 'an async job did not finish within zstack.jobTimeoutMs' },
  GTR_JOB_LOST: { exit: EXIT.unreachable, about: 'an async job is unknown to the management node (expired or lost in a restart)' },
  GTR_LEDGER_UNUSABLE: { exit: EXIT.usage, about: 'the SQLite database cannot be opened or written' },
  GTR_MIGRATION_DRIFT: { exit: EXIT.usage, about: 'applied migrations differ from the code (missing, edited, reordered, or newer database)' },
  GTR_LEASE_HELD: {
    exit: EXIT.leaseHeld, about: 'another run holds the lease',
    hint: 'Wait for that run to finish; a holder that died is taken over automatically once its lease expires.',
  },
  GTR_NOT_LEADER: {
    exit: EXIT.leaseHeld, about: 'this node is the standby of a pair of management nodes (ha.leaderCheck): the other node attaches',
    hint: 'Run it on the leader; gtr plan works here (it changes nothing). See the README "Leader check".',
  },
  GTR_HA_NOT_CAUGHT_UP: {
    exit: EXIT.leaseHeld, about: "this node just became the leader and its ledger has not caught up with the peer's yet (ha.peer)",
    hint: 'The daemon on this node catches up from the peer (its /healthz ha.sync.reason says what it waits for); run it again once it has. See the README "Two management nodes".',
  },
  GTR_HA_SNAPSHOT_REFUSED: { exit: EXIT.unreachable, about: "the peer node's ledger snapshot was not used: damaged, or another schema version (ours is kept)" },
  GTR_ROLLOUT_NOT_FOUND: { exit: EXIT.rollout, about: 'no such rollout id' },
  GTR_ROLLOUT_REFUSED: { exit: EXIT.rollout, about: 'the rollout command is not allowed now: a transition its state does not allow, a clash with an open rollout, or nothing to roll out' },
  GTR_ABORTED: { exit: EXIT.unreachable, about: 'the operation was aborted (shutdown or timeout)' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The code of an unexpected error (a bug) in JSON output, e.g. an attach's `error`; the CLI exits 70. */
export const INTERNAL_ERROR = { code: 'GTR_INTERNAL', exit: EXIT.internal, about: 'unexpected error' } as const;

/** What to do about an error of `code`, when the catalog says. */
export function hintOf(code: ErrorCode): string | undefined {
  const entry: ErrorEntry = ERROR_CODES[code];
  return entry.hint;
}

interface GtrErrorOptions {
  cause?: unknown;
  /** Machine-readable extra facts; must never contain secrets. */
  details?: Record<string, unknown>;
}

export class GtrError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, options: GtrErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

export class UsageError extends GtrError {
  constructor(message: string, options?: GtrErrorOptions) {
    super('GTR_USAGE', message, options);
  }
}

export interface ConfigProblem {
  key: string;
  value: unknown;
  expected: string;
}

/** Every problem of a config at once, each naming key, value and expectation. */
export class ConfigError extends GtrError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], source: string) {
    const lines = problems.map((p) => `  ${p.key}: got ${describeValue(p.value)}, expected ${p.expected}`);
    super('GTR_CONFIG_INVALID', `invalid configuration (${source}):\n${lines.join('\n')}`, { details: { problems } });
    this.problems = problems;
  }
}

/** A ZStack error body (`{"error": {code, description, details}}`) turned into an exception. */
export interface ZStackErrorBody {
  code: string;
  description: string;
  details: string;
}

export class ZStackApiError extends GtrError {
  readonly status: number;
  readonly api: string;
  readonly zstack: ZStackErrorBody;
  constructor(api: string, status: number, zstack: ZStackErrorBody, options?: GtrErrorOptions) {
    super('GTR_ZSTACK_API', `${api}: ZStack error ${zstack.code}: ${zstack.details || zstack.description}`, options);
    this.api = api;
    this.status = status;
    this.zstack = zstack;
  }
}

export class ZStackHttpError extends GtrError {
  readonly status: number;
  readonly api: string;
  constructor(api: string, status: number, bodyExcerpt: string, options?: GtrErrorOptions) {
    super('GTR_ZSTACK_HTTP', `${api}: HTTP ${status}${bodyExcerpt ? `: ${bodyExcerpt}` : ''}`, options);
    this.api = api;
    this.status = status;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The message of anything thrown: an Error's message, else the value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The `{code, description, details}` shape used in JSON output for any error. */
export function errorToJson(error: unknown): ZStackErrorBody {
  if (error instanceof ZStackApiError) return { ...error.zstack };
  if (error instanceof GtrError) return { code: error.code, description: ERROR_CODES[error.code].about, details: error.message };
  const message = messageOf(error);
  return { code: INTERNAL_ERROR.code, description: INTERNAL_ERROR.about, details: message };
}
