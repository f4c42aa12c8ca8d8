// GuestTools versions: strict semver first, then a loose dotted-number form
// (`1.2` = `1.2.0`, `1.2.3.4` > `1.2.3`) compared segment by segment. Anything else is unparseable.
import semver from 'semver';

export interface Version {
  /** The text as found (tag value or file name part). */
  raw: string;
  /** Numeric segments, at least three. */
  segments: number[];
  /** Semver prerelease identifiers, empty for a release. */
  prerelease: string[];
}

const LOOSE = /^\d+(\.\d+){0,7}$/;
// Nearly every tag and file name is a plain X.Y.Z: parsed without semver's regular expressions and
// objects, which made version parsing the largest source of garbage of a 100k-VM run.
const PLAIN = /^(\d+)\.(\d+)\.(\d+)$/;
const MAX_LENGTH = 64;

export function parseVersion(raw: string): Version | null {
  if (raw.length === 0 || raw.length > MAX_LENGTH) return null;
  const plain = PLAIN.exec(raw);
  if (plain) {
    // Strict semver and the loose form agree on X.Y.Z (leading zeros are loose: 1.02.3 = 1.2.3).
    const segments = [Number(plain[1]), Number(plain[2]), Number(plain[3])];
    return segments.every(Number.isSafeInteger) ? { raw, segments, prerelease: [] } : null;
  }
  return parseOther(raw);
}

function parseOther(raw: string): Version | null {
  const strict = semver.valid(raw) ? new semver.SemVer(raw) : null;
  if (strict) {
    return { raw, segments: [strict.major, strict.minor, strict.patch], prerelease: strict.prerelease.map(String) };
  }
  if (!LOOSE.test(raw)) return null;
  const segments = raw.split('.').map(Number);
  if (segments.some((n) => !Number.isSafeInteger(n))) return null;
  while (segments.length < 3) segments.push(0);
  return { raw, segments, prerelease: [] };
}

export function compareVersions(a: Version, b: Version): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const diff = (a.segments[i] ?? 0) - (b.segments[i] ?? 0);
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    // A release sorts after its prereleases.
    return (b.prerelease.length === 0 ? 0 : 1) - (a.prerelease.length === 0 ? 0 : 1);
  }
  return semver.compare(`0.0.0-${a.prerelease.join('.')}`, `0.0.0-${b.prerelease.join('.')}`);
}

export function isPrerelease(v: Version): boolean {
  return v.prerelease.length > 0;
}

/** Highest of several raw versions (unparseable ones ignored), or null. */
export function highestVersion(raws: readonly string[]): Version | null {
  let best: Version | null = null;
  for (const raw of raws) {
    const v = parseVersion(raw);
    if (v && (!best || compareVersions(v, best) > 0)) best = v;
  }
  return best;
}
