// What goes on the wire: ZStack error bodies, Gson-style dates, and the reply shape the router writes.
// The real server never sets Content-Type, omits null fields, and writes empty results as empty bodies.

export interface SimReply {
  status: number;
  /** '' (empty body), JSON text, or plain text for REST-layer errors. */
  body: string;
}

export interface ZsError {
  code: string;
  description: string;
  details: string;
}

const DESCRIPTIONS: Record<string, string> = {
  'SYS.1000': 'An internal error happened in system',
  'SYS.1003': 'Resource not found',
  'SYS.1006': 'An operation failed',
  'SYS.1007': 'One or more API argument is invalid',
  'ID.1000': 'Authentication error',
  'ID.1001': 'The session is invalid, either wrong session id or the session has been expired',
  'ID.1006': 'Too many concurrent sessions',
  'GT.1005': 'No available guest-tools iso',
};

export function zsError(code: string, details: string): ZsError {
  return { code, description: DESCRIPTIONS[code] ?? 'Error', details };
}

export const sessionError = (): ZsError => zsError('ID.1001', 'Session expired');

export function vmNotFound(uuid: string): ZsError {
  return zsError('SYS.1003', `invalid field[uuid], resource[uuid:${uuid}, type:VmInstanceVO] not found`);
}

export function json(status: number, value: unknown): SimReply {
  return { status, body: JSON.stringify(value) };
}

export function text(status: number, message: string): SimReply {
  return { status, body: message };
}

export function errorReply(error: ZsError, status = 503): SimReply {
  return json(status, { error });
}

export const empty = (status: number): SimReply => ({ status, body: '' });

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Gson's default Java date format, server local time: "Oct 17, 2024 5:43:35 AM". */
const dateCache = new Map<number, string>();

export function zsDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  const hit = dateCache.get(second);
  if (hit !== undefined) return hit;
  if (dateCache.size > 50_000) dateCache.clear();
  const text = formatDate(ms);
  dateCache.set(second, text);
  return text;
}

function formatDate(ms: number): string {
  const d = new Date(ms);
  const h = d.getHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const mm = String(d.getMinutes()).padStart(2, '0');
  const ss = String(d.getSeconds()).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${d.getDate()}, ${d.getFullYear()} ${h12}:${mm}:${ss} ${h < 12 ? 'AM' : 'PM'}`;
}

/** Gson omits null fields: drop null/undefined values (shallow). */
export function dropNulls<T extends Record<string, unknown>>(obj: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== null && v !== undefined) out[k] = v;
  return out as Partial<T>;
}
