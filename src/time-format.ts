// Time as this program shows and stores it: ISO-8601 timestamps (JSON output, the ledger's text
// columns) and compact durations ("1h30m", as `--soak` and the config accept them).

/** Epoch milliseconds as an ISO-8601 timestamp; null stays null. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Milliseconds as "1d2h3m4s5ms" (largest units first, zero units left out); 0 is "0". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let rest = ms;
  let out = '';
  for (const [unit, size] of units) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** The zone offset of this process's local time at `d`, as `+08:00`. */
function offsetText(d: Date): string {
  const minutes = -d.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * An instant (epoch ms or an ISO-8601 text) in the local zone (TZ) with its offset, for people:
 * `2026-12-07 10:57:20 +08:00`. JSON output keeps UTC ISO (`iso`). null stays null; text that is no
 * date is returned as it is.
 */
export function localTime(at: number | string): string;
export function localTime(at: number | string | null): string | null;
export function localTime(at: number | string | null): string | null {
  if (at === null) return null;
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) return String(at);
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clockTime(ms)} ${offsetText(d)}`;
}

/** The local wall-clock time of day, `10:57:20`. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How long ago `at` was, seen from `now`, for lists: `45s ago`, `3m ago`, `2h ago`, `5d ago`. */
export function age(at: number | string, now: number): string {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) return String(at);
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return 'in the future';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const WHOLE_DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/**
 * Milliseconds for a compact duration ("5s", "1500ms", "1h30m", "0"), or null when it is not one.
 * One grammar for the config's durations and the simulator's flags.
 */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  if (!WHOLE_DURATION.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) total += Number(amount) * UNIT_MS[unit];
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : null;
}
