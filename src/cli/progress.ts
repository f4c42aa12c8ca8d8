// A one-line progress bar on stderr during apply; only on a TTY and never with --json.

export function progressBar(stream: NodeJS.WriteStream): ((done: number, total: number, failed: number) => void) & { end(): void } {
  let last = 0;
  let drawn = false;
  const draw = (done: number, total: number, failed: number) => {
    const now = Date.now();
    if (done < total && now - last < 100) return; // at most 10 redraws a second
    last = now;
    drawn = true;
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} attached, ${failed} failed`);
  };
  return Object.assign(draw, { end: () => {
      if (drawn) stream.write('\n');
    }, });
}
