// What a management node of a given release offers (zstack-api.md 10.2): QueryGuestToolsState from
// 4.6.11, its state field named `state` until 4.6.20 and `qgaState` (with `zwatchState`) from 4.6.21,
// UpdateGuestToolsState from 4.6.21, the script library from 5.2.0 and its `encodingType` field from
// 5.3.0 (zstack-install-api.md 1, 3.4; the version of encodingType is a guess, L).

/** The newest behaviour; what the simulator is unless told otherwise. */
export const NEWEST_MN_VERSION = '5.3.0';

export interface MnFeatures {
  version: string;
  /** null: no QueryGuestToolsState (404 `no api mapping`); else the name of its state field. */
  guestToolsStateField: 'state' | 'qgaState' | null;
  /** PUT /vm-instances/{uuid}/guesttools-state exists. */
  updateGuestToolsState: boolean;
  /** /v1/scripts... exist (CreateGuestVmScript, ExecuteGuestVmScript, the record queries). */
  scriptLibrary: boolean;
  /** CreateGuestVmScript knows `encodingType` (older ones ignore it and keep the content as sent). */
  scriptEncodingType: boolean;
}

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

export function isMnVersion(text: string): boolean {
  return VERSION.test(text);
}

function compare(a: string, b: string): number {
  const pa = (VERSION.exec(a) ?? []).slice(1).map(Number);
  const pb = (VERSION.exec(b) ?? []).slice(1).map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** @throws RangeError on a version that is not X.Y.Z (a test or flag mistake). */
export function mnFeatures(version: string = NEWEST_MN_VERSION): MnFeatures {
  if (!isMnVersion(version)) throw new RangeError(`management node version must look like 4.6.21, got ${JSON.stringify(version)}`);
  const field = compare(version, '4.6.11') < 0 ? null : compare(version, '4.6.21') < 0 ? 'state' : 'qgaState';
  return {
    version, guestToolsStateField: field, updateGuestToolsState: compare(version, '4.6.21') >= 0,
    scriptLibrary: compare(version, '5.2.0') >= 0, scriptEncodingType: compare(version, '5.3.0') >= 0,
  };
}
