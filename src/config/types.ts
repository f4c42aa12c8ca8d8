// The validated, frozen configuration's types, as the schema (schema.ts) yields them.
import type { Config } from './schema.js';

export type { Config };
export type { Limit } from '../count-or-percent.js';
export type { LeaderCheckConfig } from './fields.js';
export type Selector = NonNullable<Config['policy']['include']>;
/** Days ('mon'..'sun', empty: every day) and 'HH:MM' start and end in schedule.timezone; end <= start crosses midnight. */
export type MaintenanceWindow = Config['schedule']['windows'][number];
export type WebhookConfig = Config['notify']['webhooks'][number];
export type WebhookFormat = WebhookConfig['format'];
