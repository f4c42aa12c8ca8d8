// Durations in config files are short strings ("24h", "30m", "90s", "1500ms", "2d", "1h30m") or "0";
// everything inside the program is milliseconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** Milliseconds for a duration string, or null when it is not one. */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  if (!WHOLE.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit];
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : null;
}
