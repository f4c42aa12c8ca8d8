// The one guard for "a JSON object" (not null, not an array), for parsed bodies, replies and files.
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
