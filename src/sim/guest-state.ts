// UpdateGuestToolsState (4.6.21, sync; zstack-install-api.md 3.3, 3.4): re-reads the guest now and
// rewrites its state row through the MN's state machine. It never touches the `GuestTools::` tag.
// - a VM that is not Running or has no host: `qgaNotRunning` + zwatch `stopped`, nothing read;
// - else the agent is asked: not answering -> `qgaNotRunning`; answering with tools found (a version
//   file) -> `zsToolFound` (Running) and the version read; answering without -> `zsToolNotFound`
//   (NotInstalled, except from NotUpgraded).
import type { GuestOs } from './guest-os.js';
import type { QgaState } from './types.js';
import { dropNulls, errorReply, json, zsDate, zsError, type SimReply } from './wire.js';
import type { GuestRow, World } from './world.js';

function qgaNotRunning(s: QgaState): QgaState {
  return s === 'Running' ? 'NotRunning' : s;
}

function stateInventory(g: GuestRow): Record<string, unknown> {
  return dropNulls({
    vmInstanceUuid: g.vmInstanceUuid, qgaState: g.qgaState, zwatchState: g.zwatchState, version: g.version,
    platform: g.platform, osType: g.osType, createDate: zsDate(g.createdAt), lastOpDate: zsDate(g.lastOpAt),
  });
}

export function updateGuestToolsState(world: World, guestOs: GuestOs, vmUuid: string): SimReply {
  const vm = world.getVm(vmUuid);
  if (!vm || vm.state === 'Destroyed') {
    return errorReply(zsError('SYS.1007', `can not update guest tools state for vm [uuid:${vmUuid}] because vm is deleted`));
  }
  if (vm.type !== 'UserVm') return errorReply(zsError('SYS.1007', `can not update guest tools state for vm[uuid:${vmUuid}] because it's not user vm`));
  const old = world.guest(vmUuid);
  let qgaState: QgaState = old?.qgaState ?? 'NotInstalled';
  let zwatch = old?.zwatchState ?? 'NotInstalled';
  let version = old?.version ?? null;
  if (vm.state !== 'Running' || vm.hostUuid === null) {
    qgaState = qgaNotRunning(qgaState);
    if (zwatch === 'Running') zwatch = 'NotRunning';
  } else if (!guestOs.agentRunning(vm)) {
    qgaState = qgaNotRunning(qgaState);
  } else {
    const installed = guestOs.installedVersion(vm);
    if (installed !== null) {
      qgaState = 'Running';
      zwatch = 'Running';
      version = installed;
    } else if (qgaState !== 'NotUpgraded') {
      qgaState = 'NotInstalled';
    }
  }
  world.setGuest(vmUuid, { qgaState, version });
  const row = world.guest(vmUuid) as GuestRow;
  row.zwatchState = zwatch;
  return json(200, { inventory: stateInventory(row) });
}
