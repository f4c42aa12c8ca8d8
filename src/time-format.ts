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
