// `gtr doctor`: "will this work here?" Each check with its status and, when something is wrong, the fix.
import { EXIT } from '../../errors.js';
import { runDoctor, type DoctorReport } from '../../doctor/doctor.js';
import { parseFlags } from '../args.js';
import { printable } from '../../text/printable.js';
import { formatTable } from '../../text/table.js';
import { exitLines } from '../exit-lines.js';

const DOCTOR_HELP = `Usage: gtr doctor [--config FILE] [--json]

Checks that gtr can work here, and says how to fix what is wrong: the configuration, the modes of the
files that hold secrets, the ISO folder and its catalog, the database folder and SQLite integrity, the
endpoint, TLS, the login, the clock skew to the MN, the MN API version (QueryGuestToolsState), the run
lease holder, the leader check and (as root) the systemd unit. Changes nothing: no database write, no
migration, no lease; the login is followed by a logout.
Each check is pass, warn, fail or skip. --json prints { "ok", "checks": [ { "name", "status", "detail", "fix" } ] }.
${exitLines([['ok', 'no check failed (warnings allowed)'], ['someFailed', 'some check failed'], ['usage', 'usage error or invalid configuration']])}`;

export async function runDoctorCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseFlags(argv, { json: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(DOCTOR_HELP);
    return EXIT.ok;
  }
  const report = await runDoctor(values.config, env);
  process.stdout.write(values.json ? `${JSON.stringify({ ok: report.ok, checks: report.checks }, null, 2)}\n` : renderDoctor(report));
  if (report.configInvalid) return EXIT.usage;
  return report.ok ? EXIT.ok : EXIT.someFailed;
}

function renderDoctor(report: DoctorReport): string {
  const out = [formatTable(['check', 'status', 'detail'], report.checks.map((c) => [c.name, c.status, c.detail]), { full: ['detail'] })];
  const toFix = report.checks.filter((c) => c.fix !== null);
  if (toFix.length > 0) {
    out.push('', 'To fix:');
    for (const c of toFix) out.push(`  ${c.name} (${c.status}): ${printable(c.fix ?? '')}`);
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  out.push('', failed === 0 ? `OK: no check failed${warned > 0 ? ` (${warned} warnings)` : ''}.` : `${failed} of ${report.checks.length} checks failed.`);
  return `${out.join('\n')}\n`;
}
