// A retry with backoff for what the daemon waits for instead of giving up (README "Daemon"): an ISO
// folder not there yet (an NFS mount after a reboot, an MN upgrade moving /opt/zstack-dvd), a status
// port still held by an old instance. `attempt` is tried after 1 s, 2 s, 4 s ... (at most `maxMs`
// apart) until it reports success; never two attempts at once; stop() ends it.

interface RetryLoopOptions {
  firstMs: number;
  maxMs: number;
  /** Called before each wait with the delay (for the log). */
  onWait?: (delayMs: number, attempt: number) => void;
}

export const DAEMON_RETRY: RetryLoopOptions = { firstMs: 1_000, maxMs: 60_000 };

export class RetryLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private attempts = 0;

  constructor(
    private readonly attempt: () => Promise<boolean>,
    private readonly opts: RetryLoopOptions,
  ) {}

  /** True while it waits for or makes an attempt. */
  get active(): boolean {
    return this.timer !== null || this.running !== null;
  }

  /** Starts waiting for the first retry; no-op while already active or after stop(). */
  start(): void {
    if (this.stopped || this.active) return;
    this.attempts = 0;
    this.wait();
  }

  private wait(): void {
    const delay = Math.min(this.opts.firstMs * 2 ** this.attempts, this.opts.maxMs);
    this.attempts += 1;
    this.opts.onWait?.(delay, this.attempts);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.attempt().then(
        (done) => this.after(done),
        () => this.after(false),
      );
    }, delay);
    // Never what keeps the process alive: the daemon's schedule and server do that while it runs.
    this.timer.unref();
  }

  private after(done: boolean): void {
    this.running = null;
    if (!done && !this.stopped) this.wait();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
