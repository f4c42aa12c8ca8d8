// Wall-clock time in an IANA time zone and the instants it corresponds to, with the zone's own rules
// (Intl), so a local time is converted where it falls, across DST changes: in spring a wall time in
// the skipped hour is reached when the clock jumps over it; in autumn one in the repeated hour is
// reached twice. Wall times are carried as epoch-ms numbers read as if UTC ("wall ms").
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface LocalTime {
  day: number; // 0 = Sunday
  minutes: number; // since local midnight
  /** Local midnight of this date, as wall ms. */
  date: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local wall time at `instant`, to the second, as wall ms. */
function wallAt(instant: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
}

/** The zone's offset from UTC at `instant` (ms; Berlin in summer: +2 h). */
export function offsetAt(instant: number, timeZone: string): number {
  const second = Math.floor(instant / 1000) * 1000;
  return wallAt(second, timeZone) - second;
}

export function localTime(instant: number, timeZone: string): LocalTime {
  const wall = wallAt(instant, timeZone);
  const date = Math.floor(wall / DAY) * DAY;
  return { day: new Date(date).getUTCDay(), minutes: Math.floor((wall - date) / MINUTE), date };
}

export function dayName(day: number): string {
  return DAYS[((day % 7) + 7) % 7];
}

/**
 * The instants at which the local clock reaches the wall time `wall`, ascending: one on most days;
 * two when it falls in the hour repeated in autumn; in spring's skipped hour, the moment the clock
 * jumps over it (from then on the clock reads later than `wall`).
 */
export function instantsOfWall(wall: number, timeZone: string): number[] {
  // The offsets in force near `wall` (an instant within 14 h of it): no zone changes twice in a day.
  const offsets = [...new Set([offsetAt(wall - DAY, timeZone), offsetAt(wall, timeZone), offsetAt(wall + DAY, timeZone)])];
  const exact = offsets.map((o) => wall - o).filter((x) => offsetAt(x, timeZone) === wall - x);
  if (exact.length > 0) return [...new Set(exact)].sort((a, b) => a - b);
  // Skipped: the clock reads earlier than `wall` at `before`, later at `after`; find the jump, to the second.
  let before = wall - Math.max(...offsets);
  let after = wall - Math.min(...offsets);
  while (after - before > 1000) {
    const mid = before + Math.floor((after - before) / 2000) * 1000;
    if (wallAt(mid, timeZone) < wall) before = mid;
    else after = mid;
  }
  return [after];
}

/** The first instant in (from, to] at which the zone's offset differs from its offset at `from`; null when none (at most one change assumed, as within days). */
export function nextOffsetChange(from: number, to: number, timeZone: string): number | null {
  if (!(to > from) || !Number.isFinite(to)) return null;
  const offset = offsetAt(from, timeZone);
  if (offsetAt(to, timeZone) === offset) return null;
  let before = Math.floor(from / 1000) * 1000;
  let after = to;
  while (after - before > 1000) {
    const mid = before + Math.floor((after - before) / 2000) * 1000;
    if (offsetAt(mid, timeZone) === offset) before = mid;
    else after = mid;
  }
  return after;
}
