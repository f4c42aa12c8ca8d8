// stderr as the operator's terminal sees it: log lines and one status line (the progress bar). The status
// line is redrawn in place with \r; a log line first clears it, takes its own line, and the status line
// is drawn again below it, so the bar is never drawn into a log line.

export interface Terminal {
  /** A whole line of text (a log line). */
  line(text: string): void;
  /** Replaces the status line (e.g. the progress bar). */
  status(text: string): void;
  /** Leaves the status line as it is and moves below it; the next status starts a new line. */
  endStatus(): void;
}

const CLEAR_LINE = '\r\x1b[2K';

export function terminalOn(stream: { write(text: string): unknown; isTTY?: boolean }): Terminal {
  let current: string | null = null;
  const tty = stream.isTTY === true;
  return {
    line(text) {
      if (current !== null && tty) stream.write(`${CLEAR_LINE}${text}\n${current}`);
      else stream.write(`${text}\n`);
    },
    status(text) {
      current = text;
      if (tty) stream.write(`${CLEAR_LINE}${text}`);
    },
    endStatus() {
      if (current !== null && tty) stream.write('\n');
      current = null;
    },
  };
}
