// Rollout events for notify.webhooks: a wave started, the rollout paused (with its reason) or completed.
import type { GtrEvent } from '../events.js';
import type { ProgressStep } from './waves.js';

export function waveStarted(rolloutId: number, wave: number): GtrEvent {
  return { event: 'rollout.wave-started', rolloutId, status: 'active', summary: `rollout #${rolloutId}: wave ${wave} started` };
}

export function rolloutPaused(rolloutId: number, reason: string, why: string): GtrEvent {
  return { event: 'rollout.paused', rolloutId, status: 'paused', reason, summary: `rollout #${rolloutId} paused: ${why}` };
}

/** The event a progress step is worth, or null (wave completions and time-outs are only logged). */
export function stepEvent(rolloutId: number, step: ProgressStep): GtrEvent | null {
  switch (step.kind) {
    case 'start-wave':
      return waveStarted(rolloutId, step.wave);
    case 'pause':
      return rolloutPaused(rolloutId, step.reason, `${step.failures} failed members exceed the error budget of ${step.budget}; resume with gtr rollout resume ${rolloutId}`);
    case 'complete-rollout':
      return { event: 'rollout.completed', rolloutId, status: 'completed', summary: `rollout #${rolloutId} completed` };
    default:
      return null;
  }
}
