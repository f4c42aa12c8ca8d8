// The one root logger: JSON lines to stderr (reports go to stdout), secrets redacted by path, and
// session ids scrubbed out of URLs and header strings that slip into fields.
import pino from 'pino';
import { REDACTED } from './redacted.js';

const SECRET_FIELDS = ['password', 'passwordHash', 'passwordFileContent', 'sessionId', 'sessionUuid', 'session'];
const HEADER_FIELDS = ['authorization', 'Authorization'];

/** Redaction paths: each secret field at the top level and up to three objects deep. */
const REDACT_PATHS: string[] = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`]),
  ...HEADER_FIELDS.flatMap((h) => [h, `headers.${h}`, `*.headers.${h}`, `*.*.headers.${h}`]),
  'zstack.password',
  'config.zstack.password',
];


// `sessionId=<uuid>` in a query string and `OAuth <uuid>` in a header value.
const SECRET_IN_TEXT = /\b(session(?:Id|Uuid)=)[^&\s"]+|\b(OAuth\s+)[^\s"]+/g;
const HAS_SECRET_IN_TEXT = /\bsession(?:Id|Uuid)=|\bOAuth\s/;

export function scrubText(text: string): string {
  return text.replace(SECRET_IN_TEXT, (_m, query: string | undefined, oauth: string | undefined) => `${query ?? oauth}${REDACTED}`);
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return HAS_SECRET_IN_TEXT.test(value) ? scrubText(value) : value;
  if (depth > 3 || typeof value !== 'object' || value === null || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

interface LoggerOptions {
  level: string;
  /** Default stderr, written synchronously so lines are not lost when the process exits. */
  destination?: 'stdout' | 'stderr' | pino.DestinationStream;
  name?: string;
}

export function createLogger(opts: LoggerOptions): pino.Logger {
  const destination =
    opts.destination === undefined || opts.destination === 'stderr'
      ? pino.destination({ fd: 2, sync: true })
      : opts.destination === 'stdout'
        ? pino.destination({ fd: 1, sync: true })
        : opts.destination;
  return pino(
    {
      level: opts.level,
      name: opts.name ?? 'gtr',
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (object) => scrub(object, 0) as Record<string, unknown> },
    },
    destination,
  );
}
