// Who made a rollout transition: `user@host` for commands, 'daemon' for the service.
import os from 'node:os';

export function cliActor(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): the uid still says who.
    user = process.env.USER ?? `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return `${user}@${os.hostname()}`;
}

export const DAEMON_ACTOR = 'daemon';
