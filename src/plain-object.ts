// The one guard for "a JSON object" (not null, not an array), for parsed bodies, replies and files.
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Assignment that keeps a "__proto__" key from a file an ordinary (own) key, not the prototype. */
export function setOwn(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
