// The rollout state machine. `active` attaches through started waves; `paused` attaches nothing until
// resumed; `completed` and `aborted` are final. Start creates an `active` rollout; `complete` is taken
// by the reconciler itself when the last wave completes.
import { GtrError } from '../errors.js';

export const ROLLOUT_STATES = ['active', 'paused', 'completed', 'aborted'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

type RolloutAction = 'pause' | 'resume' | 'abort' | 'complete';

/** Allowed transitions: state -> action -> next state. */
export const TRANSITIONS: Readonly<Record<RolloutState, Readonly<Partial<Record<RolloutAction, RolloutState>>>>> = {
  active: { pause: 'paused', abort: 'aborted', complete: 'completed' },
  paused: { resume: 'active', abort: 'aborted' },
  completed: {},
  aborted: {},
};

/** Actions an operator can take (complete is the reconciler's). */
const USER_ACTIONS: readonly RolloutAction[] = ['pause', 'resume', 'abort'];

export function nextState(state: RolloutState, action: RolloutAction): RolloutState | null {
  return TRANSITIONS[state][action] ?? null;
}

/** The state an operator's action leads to: a rollout already in it needs nothing (pause and resume are idempotent). */
export function stateAfter(action: 'pause' | 'resume' | 'abort'): RolloutState {
  return ({ pause: 'paused', resume: 'active', abort: 'aborted' } as const)[action];
}

/** Open rollouts own their agent types: at most one per agent type. */
export function isOpen(state: RolloutState): boolean {
  return state === 'active' || state === 'paused';
}

/** e.g. "resume (-> active), abort (-> aborted)", or a note that the state is final. */
export function allowedFrom(state: RolloutState): string {
  const allowed = USER_ACTIONS.flatMap((a) => {
    const to = TRANSITIONS[state][a];
    return to ? [`${a} (-> ${to})`] : [];
  });
  return allowed.length > 0 ? allowed.join(', ') : `none: a ${state} rollout is final (start a new one)`;
}

export function isRolloutState(value: unknown): value is RolloutState {
  return typeof value === 'string' && (ROLLOUT_STATES as readonly string[]).includes(value);
}

/** The exit-6 error for a refused transition, naming what is allowed from the current state. */
export function refusedTransition(id: number, state: RolloutState, action: RolloutAction): GtrError {
  return new GtrError('GTR_ROLLOUT_REFUSED', `cannot ${action} rollout ${id}: it is ${state}; allowed from ${state}: ${allowedFrom(state)}`, {
    details: { rolloutId: id, state, action },
  });
}

export function noSuchRollout(id: number): GtrError {
  return new GtrError('GTR_ROLLOUT_NOT_FOUND', `no such rollout: ${id} (see gtr rollout list)`, { details: { rolloutId: id } });
}
