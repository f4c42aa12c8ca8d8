// Events worth telling an operator about (notify.webhooks): what the run, the catalog check and
// rollouts emit. The pass only calls `emit`, which never blocks and never throws; delivery is
// src/notify/'s job.

export const EVENT_NAMES = [
  'run.failed',
  'run.halted',
  'run.interrupted',
  'rollout.paused',
  'rollout.completed',
  'rollout.wave-started',
  'catalog.problem',
  'vm.not-converging',
  'install.failed',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** Sent when a webhook names no `events`: all but the chatty wave starts. */
export const DEFAULT_EVENTS: readonly EventName[] = EVENT_NAMES.filter((e) => e !== 'rollout.wave-started');

/** An event as the `json` format sends it (the time and host are added by the notifier). */
export interface GtrEvent {
  event: EventName;
  runId?: number;
  rolloutId?: number;
  /** The run's status (run.*) or the rollout's state (rollout.*). */
  status?: string;
  /** Why: a rollout's pause reason, a catalog problem kind (empty, mismatch, unverified). */
  reason?: string;
  /** One line for people. */
  summary: string;
  counts?: Record<string, number>;
}

export interface EventSink {
  emit(event: GtrEvent): void;
}

export const NO_EVENTS: EventSink = { emit: () => undefined };
