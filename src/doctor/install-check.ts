// Checks "script-library" and "detach": whether the MN can run the installer in the guests (the script
// library, ZStack 5.2.0+) and detach the GuestTools ISO after verify (DetachGuestToolsIsoFromVm). The
// client's own probes, as a run asks them: a one-row QueryGuestVmScript, and a detach of a VM uuid that
// does not exist (nothing can be detached anywhere). Missing is a warning: attach goes on without them.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { messageOf } from '../errors.js';
import { clientFromConfig } from '../zstack/from-config.js';
import { pass, warn, type CheckResult } from './check.js';

export const INSTALL_CHECKS = ['script-library', 'detach'] as const;

/** The probe itself failed (not an answer about the API): a warning, like a missing API. */
const unknown = (name: (typeof INSTALL_CHECKS)[number]) => (error: unknown) =>
  warn(name, `could not find out: ${messageOf(error).replace(/\s*\n\s*/g, ' ')}`, 'see the login and api-version checks; run with log.level debug for the exchange');

export async function checkInstallApis(config: Config, logger: Logger): Promise<CheckResult[]> {
  const client = clientFromConfig(config, logger);
  try {
    const installOn = config.install.mode === 'qga';
    const library = await client.scriptLibrarySupport().then(
      (s) => (s === 'present'
        ? pass('script-library', `the MN runs scripts in the guests (QueryGuestVmScript answers)${installOn ? '' : '; install.mode is off: only rollout start --install uses it'}`)
        : warn('script-library', 'the MN has no script library (404 no api mapping; ZStack 5.2.0+): nothing is installed in the guests, attached VMs await a person\'s install',
          'upgrade the management node to ZStack 5.2.0 or later; until then install in each guest by hand (gtr runs show ID lists them with the Linux command)')),
      unknown('script-library'),
    );
    const detachOn = config.policy.detachAfterVerify;
    const detach = await client.detachSupport().then(
      (s) => (s === 'present'
        ? pass('detach', `the MN detaches the GuestTools ISO (DetachGuestToolsIsoFromVm answers)${detachOn ? '' : '; policy.detachAfterVerify is off'}`)
        : warn('detach', 'the MN has no DetachGuestToolsIsoFromVm (400 no action mapping): verified VMs keep the GuestTools ISO and the Windows temp disk',
          'upgrade the management node, or detach the ISO in the UI (the VM\'s CD-ROM: eject) once the guest reports the new version')),
      unknown('detach'),
    );
    return [library, detach];
  } finally {
    await client.close();
  }
}
