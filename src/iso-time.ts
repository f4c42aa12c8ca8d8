/** Epoch milliseconds as an ISO-8601 timestamp for JSON output; null stays null. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
