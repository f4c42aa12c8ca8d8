// Small deterministic randomness for the simulator: a seeded PRNG (mulberry32) and stable
// string hashes, so the same seed always gives the same fleet, faults and uuids.

export type Rng = () => number;

/** mulberry32: fast, 32-bit state, good enough for test data. Returns floats in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-hex uuid (ZStack style, no dashes) drawn from `rng`. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function rngUuid(rng: Rng): string {
  let out = '';
  for (let i = 0; i < 4; i++) {
    const n = Math.floor(rng() * 4294967296);
    out += HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
  }
  return out;
}

/** FNV-1a 32-bit of a string with a salt; stable across runs. */
function fnv32(text: string, salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: every input bit reaches every output bit. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const DERIVED_SALTS = [0, 0x9e3779b1, 0x7f4a7c15, 0x6a09e667];

/**
 * A stable 32-hex uuid derived from some text (e.g. the root volume or a CD-ROM of a VM). Four salted
 * hash passes give 128 bits: one 32-bit seed for the whole uuid gave two of a 100k fleet's CD-ROMs the
 * same uuid (a birthday collision at 2^32), and a uuid is a unique key the MN sorts and pages by.
 */
export function derivedUuid(text: string): string {
  let out = '';
  for (const salt of DERIVED_SALTS) {
    const n = fmix32(fnv32(text, salt));
    out += HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
  }
  return out;
}

/** A stable float in [0, 1) for some text: per-VM decisions that must not depend on call order. */
export function hashUnit(text: string, seed: number): number {
  return fnv32(text, seed) / 4294967296;
}

/** A random 32-hex uuid from the platform CSPRNG (sessions, client-less job ids). */
export function randomHexUuid(): string {
  return globalThis.crypto.randomUUID().replaceAll('-', '');
}
