// "Did you mean": the closest of the known words to a mistyped one (a command, a flag), or null when
// none is close enough to be a typo.

/** Edits from a to b: insert, delete, replace, or swap two neighbours (`plna` is one from `plan`). */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known word nearest to `word`: within a third of its length in edits (at least 1), or one it starts. */
function closest(word: string, known: readonly string[]): string | null {
  if (word.length === 0 || word.length > 60) return null;
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = candidate.startsWith(word) && word.length >= 3 ? 0.5 : distance(word, candidate);
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` (did you mean X?)` or nothing. */
export function didYouMean(word: string, known: readonly string[], show: (w: string) => string = (w) => w): string {
  const near = closest(word, known);
  return near === null ? '' : ` (did you mean ${show(near)}?)`;
}
