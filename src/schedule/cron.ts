// The daemon's clock: a node-cron task that never overlaps itself, with optional random jitter.
import { createTask, type ScheduledTask } from 'node-cron';
import type { Config } from '../config/schema.js';

export interface Schedule {
  nextRun(): Date | null;
  alive(): boolean;
  stop(): Promise<void>;
}

export function startSchedule(schedule: Config['schedule'], tick: () => Promise<void>): Schedule {
  const task: ScheduledTask = createTask(schedule.cron, () => tick(), {
    name: 'gtr-reconcile',
    timezone: schedule.timezone,
    noOverlap: true,
    maxRandomDelay: schedule.jitterMs > 0 ? schedule.jitterMs : undefined,
  });
  void task.start();
  let stopped = false;
  return {
    nextRun: () => (stopped ? null : task.getNextRun()),
    alive: () => !stopped && task.getStatus() !== 'destroyed' && task.getStatus() !== 'stopped',
    async stop() {
      stopped = true;
      await task.destroy();
    },
  };
}
