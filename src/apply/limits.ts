// Limits given as a count or a percentage of the run's attach set (DESIGN.md section 5):
// concurrency rounds up and is at least 1; the error budget rounds down.
import type { Limit } from '../config/types.js';

export function concurrencyFor(limit: Limit, attachCount: number): number {
  if (limit.kind === 'count') return Math.max(1, limit.value);
  return Math.max(1, Math.ceil((limit.value / 100) * attachCount));
}

export function errorBudgetFor(limit: Limit, attachCount: number): number {
  if (limit.kind === 'count') return limit.value;
  return Math.floor((limit.value / 100) * attachCount);
}
