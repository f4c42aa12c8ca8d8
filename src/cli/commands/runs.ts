// `gtr runs` and `gtr runs show ID`: the history from the ledger.
import { UsageError } from '../../errors.js';
import { parseFlags, positiveInt, tableOptions } from '../args.js';
import { age, localTime } from '../../time-format.js';
import { errorBlock } from '../../text/wrap.js';
import type { MakeContext } from '../context.js';
import { printable } from '../../text/printable.js';
import { cutToWidth, formatTable } from '../../text/table.js';
import { outcomeText, runJson, runSpanText, runsJson, stagesText } from '../../views/history.js';
import { exitLines } from '../exit-lines.js';

const RUNS_HELP = `Usage: gtr runs [--config FILE] [--json] [--limit N] [--wide]
       gtr runs show ID [--config FILE] [--json] [--wide]

The run history, newest first (default 20 runs; "started" as an age, "finished" in the local time zone),
or one run with every recorded decision and the whole ZStack error (code, description, details) of
each failure. Times are local with their offset (TZ); --json keeps UTC ISO-8601. VM names longer than
40 columns are cut with … (--wide or -o wide shows them whole, as --json does).

Examples:
  gtr runs --limit 5
  gtr runs show 42
  gtr runs show 42 --json | jq '.actions[] | select(.outcome == "failed") | .error'

${exitLines(['ok', ['usage', 'usage or config error (also: no such run)']])}`;

export async function runRuns(argv: string[], makeContext: MakeContext): Promise<number> {
  const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' }, limit: { type: 'string' } }, true);
  if (values.help) {
    process.stdout.write(RUNS_HELP);
    return 0;
  }
  if (positionals.length > 0 && positionals[0] !== 'show') throw new UsageError(`unknown subcommand "${printable(positionals[0].slice(0, 40))}"; expected "gtr runs" or "gtr runs show ID"`);
  const showId = positionals[0] === 'show' ? runId(positionals[1]) : undefined;
  const table = tableOptions(values);
  const ctx = makeContext(values);
  try {
    const ledger = ctx.ledger();
    if (showId !== undefined) {
      const run = ledger.getRun(showId);
      if (!run) throw new UsageError(`no run with id ${showId}; see "gtr runs" for the ids`);
      const json = runJson(run);
      if (values.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      else {
        const head = `Run #${run.id} (${run.trigger}${run.dryRun ? ', dry run' : ''}): ${run.status}, ${runSpanText(run, localTime)}`;
        const rows = run.actions
          .filter((a) => a.action !== 'skip' || a.reason !== 'up-to-date')
          .map((a) => [a.vmName, a.vmUuid, a.action, a.reason, a.current ?? '-', a.target ?? '-', outcomeText(a), a.error?.code ?? '']);
        const counts = Object.entries(run.counts).map(([k, v]) => `${k}=${v}`).join(' ');
        // Decisions without a row of this run (src/reconcile/stored-decisions.ts): say so.
        const countedOnly = Object.entries(json.countedOnly).map(([k, v]) => `${k}=${v}`).join(' ');
        const unchanged = Object.entries(json.unchanged).map(([k, v]) => `${k}=${v}`).join(' ');
        const unlisted = `${countedOnly ? `not listed (stored as counts only): ${countedOnly}\n` : ''}${unchanged ? `not listed (unchanged since the VM's last listed decision, see earlier runs): ${unchanged}\n` : ''}`;
        process.stdout.write(`${head}\ncounts: ${counts}\n${unlisted}${run.message ? `note: ${printable(run.message)}\n` : ''}${run.warnings.map((w) => `warning: ${printable(w.message)}\n`).join('')}${printable(stagesText(run.stages), { keepNewlines: true })}\n${formatTable(['vm', 'uuid', 'action', 'reason', 'current', 'target', 'outcome', 'error'], rows, table)}\n${errorLines(run.actions)}`);
      }
      return 0;
    }
    const runs = ledger.listRuns(positiveInt('limit', values.limit) ?? 20);
    if (values.json) process.stdout.write(`${JSON.stringify(runsJson(runs), null, 2)}\n`);
    else if (runs.length === 0) process.stdout.write('No runs recorded yet.\n');
    else {
      const now = Date.now();
      const rows = runs.map((r) => [r.id, r.trigger, r.dryRun ? 'yes' : 'no', r.status, age(r.startedAt, now), r.finishedAt === null ? '-' : localTime(r.finishedAt), r.counts.attach ?? 0, r.counts.failed ?? 0]);
      process.stdout.write(`${formatTable(['id', 'trigger', 'dry run', 'status', 'started', 'finished', 'attach', 'failed'], rows, table)}\n`);
    }
    return 0;
  } finally {
    await ctx.close();
  }
}

function runId(given: string | undefined): number {
  if (given === undefined) throw new UsageError('which run? give its ID: gtr runs show ID (gtr runs lists the IDs)');
  if (!/^\d+$/.test(given) || Number(given) < 1) throw new UsageError(`got "${printable(given.slice(0, 40))}", expected the ID of a run (a positive integer; gtr runs lists them)`);
  return Number(given);
}

/** Every error of the run in full (code, description, details), wrapped, after the table. */
function errorLines(actions: readonly { vmUuid: string; vmName: string; error: { code: string; description: string; details: string } | null }[]): string {
  const failed = actions.filter((a) => a.error !== null);
  if (failed.length === 0) return '';
  const out = ['', 'Errors:'];
  for (const a of failed) if (a.error) out.push(`  ${a.vmUuid} ${cutToWidth(printable(a.vmName), 40)}:`, ...errorBlock(a.error, '    '));
  return `${out.join('\n')}\n`;
}
