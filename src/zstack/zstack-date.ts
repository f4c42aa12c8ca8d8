// Dates in ZStack inventories (createDate, lastOpDate): Gson's default Java format in the management
// node's local time, without a zone: "Oct 17, 2024 5:43:35 AM" (newer JDKs: "Oct 17, 2024, 5:43:35 AM"
// with a narrow no-break space before AM). Read as local time of this process, which runs on the MN.

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const GSON_DATE = /^([A-Za-z]{3})[a-z]* (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2})\s(AM|PM)$/;

/** Milliseconds since the epoch, or null when the text is not a date. */
export function parseZStackDate(text: unknown): number | null {
  if (typeof text === 'number') return Number.isFinite(text) ? text : null;
  if (typeof text !== 'string') return null;
  const m = GSON_DATE.exec(text.trim());
  if (m) {
    const [, mon = '', day, year, hour, minute, second, half] = m;
    const month = MONTHS.indexOf(mon.toLowerCase());
    if (month < 0) return null;
    const h12 = Number(hour) % 12;
    return new Date(Number(year), month, Number(day), half === 'PM' ? h12 + 12 : h12, Number(minute), Number(second)).getTime();
  }
  // Other spellings ("2024-10-17 05:43:35", ISO 8601) as the JavaScript parser reads them.
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * A resource dated `at` (the MN's clock, whole seconds) was written at `since` (this process's clock, ms)
 * or later. We run on the MN, so the clocks agree; the second a ZStack date drops is allowed for.
 */
export function writtenSince(at: number | null | undefined, since: number): boolean {
  return at != null && at + 1000 > since;
}
