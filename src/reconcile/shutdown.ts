// Stopping a pass: what both entry points that run one (the one-shot `gtr reconcile`, the daemon) wait for.

/** How long in-flight attaches may take to finish after SIGTERM before their calls are abandoned. */
export const SHUTDOWN_GRACE_MS = 30_000;
