// Writes a run report as JSON (the text JSON.stringify(report, null, 2) would give) with its
// `actions` serialized one at a time: for 100k VMs the whole document as one string was ~35 MB held
// at once, on top of the report itself. Each chunk is out before the next is built: stdout to a file
// is synchronous, but to a pipe from a parent process (a socket pair) it is not, and without waiting
// for 'drain' the whole ~25 MB document queued up in native write buffers (~70 MB of arrayBuffers at
// exit, the run's peak RSS).

// 100 actions make ~35 KB of text: below V8's large-object size (128 KB), so each chunk dies young. At 500
// every chunk was a large object, kept until a full collection: ~23 MB of them at the end of a 100k-VM
// run, its peak RSS.
const CHUNK_ACTIONS = 100;
const NESTED_OPEN = '[\n  [\n';
const NESTED_CLOSE = '\n  ]\n]';

interface JsonOut {
  /** false when the chunk was queued: wait for 'drain' before writing more. */
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export async function writeReportJson(out: JsonOut, report: { actions: readonly unknown[] }): Promise<void> {
  const actions = report.actions;
  // The document with an empty array in place of the actions (same key order), split where it stands.
  const shell = Object.fromEntries(Object.entries(report).map(([k, v]) => [k, k === 'actions' ? [] : v]));
  const head = JSON.stringify(shell, null, 2);
  const at = head.indexOf('\n  "actions": []');
  const cut = at < 0 ? -1 : at + 3;
  if (cut < 0 || actions.length === 0) {
    out.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  out.write(`${head.slice(0, cut)}"actions": [\n`);
  for (let i = 0; i < actions.length; i += CHUNK_ACTIONS) {
    // Nested two arrays deep, JSON.stringify indents the actions as they stand in the document; the
    // two wrapping brackets are cut off (one string per chunk, no re-indenting per action).
    const nested = JSON.stringify([actions.slice(i, i + CHUNK_ACTIONS)], null, 2);
    const last = i + CHUNK_ACTIONS >= actions.length;
    if (!out.write(`${nested.slice(NESTED_OPEN.length, -NESTED_CLOSE.length)}${last ? '\n' : ',\n'}`)) {
      await new Promise<void>((resolve) => out.once('drain', resolve));
    }
  }
  out.write(`  ]${head.slice(cut + '"actions": []'.length)}\n`);
}
