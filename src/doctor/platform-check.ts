// Check "platform": whether this machine is one gtr runs on (README "Supported management nodes").
// gtr needs Node 20, which exists for x86_64 and aarch64 only: LoongArch ("old world" ABI, Kylin V10)
// and mips64el management nodes cannot run it, so gtr runs on another machine against their API.
import { basename } from 'node:path';
import { pass, warn, type CheckResult } from './check.js';

const SUPPORTED: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

const ANOTHER_MACHINE =
  'run gtr on another x86_64 or aarch64 Linux machine that reaches this management node: "zstack.endpoint" = ' +
  'http://<this MN>:8080, "isoDir" = an NFS mount or a copy of its /opt/zstack-dvd (README "Supported management nodes")';

interface PlatformFacts {
  arch: string;
  /** process.execPath: the bundle's own loader (runtime/lib/ld-linux-*) when started by its bin/gtr. */
  execPath: string;
}

export function checkPlatform(facts: PlatformFacts = { arch: process.arch, execPath: process.execPath }): CheckResult {
  const machine = SUPPORTED[facts.arch];
  if (!machine) {
    return warn('platform', `this machine is ${facts.arch}: gtr supports x86_64 and aarch64 management nodes only (no Node 20 for LoongArch or mips64el)`, ANOTHER_MACHINE);
  }
  const runtime = basename(facts.execPath).startsWith('ld-linux')
    ? 'the offline bundle\'s own Node and C runtime (the host\'s glibc is not used)'
    : `Node ${process.versions.node} from ${facts.execPath}`;
  return pass('platform', `${machine}, ${runtime}; LoongArch and mips64el management nodes are out of scope: run gtr from another machine against them`);
}
