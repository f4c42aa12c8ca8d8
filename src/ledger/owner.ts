// Root must not leave root-owned database files in a folder that belongs to the service user: the
// daemon, running as that user, could then no longer write them. So a process running as root takes
// the identity of the database folder's owner (the `gtr` user on an installed system) before it opens
// anything there.

/** True when this process runs as root and the folder belongs to another user. */
export function mustActAsOwner(folderUid: number): boolean {
  return process.getuid?.() === 0 && folderUid !== 0;
}

/** Switches this process to the given user and group, dropping root's other groups; throws when the system refuses. */
export function switchUser(uid: number, gid: number): void {
  if (!process.setuid || !process.setgid || !process.setgroups) throw new Error('this platform cannot switch users');
  process.setgroups([gid]);
  process.setgid(gid);
  process.setuid(uid);
}
