// Limits given as a count or a percentage of the run's attach set:
// concurrency rounds up and is at least 1; the error budget rounds down; both in integers (percentOf).
import { percentOf, type Limit } from '../count-or-percent.js';

export function concurrencyFor(limit: Limit, attachCount: number): number {
  if (limit.kind === 'count') return Math.max(1, limit.value);
  return Math.max(1, percentOf(limit.value, attachCount, 'up'));
}

export function errorBudgetFor(limit: Limit, attachCount: number): number {
  if (limit.kind === 'count') return limit.value;
  return percentOf(limit.value, attachCount, 'down');
}
