// `gtr plan --json | head -1`, or quitting `less` early: the reader closed the pipe. That is no error of
// the command (it goes on to its own end and exit code, e.g. a reconcile still records its run); the
// rest of its output has nobody to read it, so it is dropped instead of ending in a Node stack trace
// (`write EPIPE`). A writer waiting for 'drain' is released.

interface Output {
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
  emit(event: 'drain'): boolean;
  write: (...args: never[]) => boolean;
}

export function dropOutputOnClosedPipe(out: Output): void {
  out.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
    out.write = () => true;
    out.emit('drain');
  });
}
