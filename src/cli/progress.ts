// A one-line progress bar on the terminal's status line during apply; only on a TTY and never with --json.
import type { Terminal } from './terminal.js';

export function progressBar(terminal: Terminal): ((done: number, total: number, failed: number) => void) & { end(): void } {
  let last = 0;
  const draw = (done: number, total: number, failed: number) => {
    const now = Date.now();
    if (done < total && now - last < 100) return; // at most 10 redraws a second
    last = now;
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    terminal.status(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} attached, ${failed} failed`);
  };
  return Object.assign(draw, { end: () => terminal.endStatus() });
}
