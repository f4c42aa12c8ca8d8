// `gtr runs` and `gtr runs show ID`: the history from the ledger.
import { UsageError } from '../../errors.js';
import { parseFlags, positiveInt } from '../args.js';
import type { Context } from '../context.js';
import { printable } from '../../text/printable.js';
import { formatTable } from '../../text/table.js';
import { outcomeText, runJson, runSpanText, runsJson, stagesText } from '../../views/history.js';

export const RUNS_HELP = `Usage: gtr runs [--config FILE] [--json] [--limit N]
       gtr runs show ID [--config FILE] [--json]

The run history, newest first (default 20 runs), or one run with every recorded decision.
Exit codes: 0 ok, 2 usage or config error (also: no such run).
`;

export async function runRuns(argv: string[], makeContext: (configFile: string | undefined) => Context): Promise<number> {
  const { values, positionals } = parseFlags('runs', argv, { json: { type: 'boolean' }, limit: { type: 'string' } }, true);
  if (values.help) {
    process.stdout.write(RUNS_HELP);
    return 0;
  }
  if (positionals.length > 0 && positionals[0] !== 'show') throw new UsageError(`runs: unknown subcommand "${positionals[0]}"; expected "show ID"`);
  const showId = positionals[0] === 'show' ? positiveInt('ID', positionals[1] ?? 'missing') : undefined;
  const ctx = makeContext(values.config);
  try {
    const ledger = ctx.ledger();
    if (showId !== undefined) {
      const run = ledger.getRun(showId);
      if (!run) throw new UsageError(`runs show: no run with id ${showId}; see "gtr runs" for the ids`);
      const json = runJson(run);
      if (values.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      else {
        const head = `Run #${run.id} (${run.trigger}${run.dryRun ? ', dry run' : ''}): ${run.status}, ${runSpanText(run)}`;
        const rows = run.actions
          .filter((a) => a.action !== 'skip' || a.reason !== 'up-to-date')
          .map((a) => [a.vmName, a.vmUuid, a.action, a.reason, a.current ?? '-', a.target ?? '-', outcomeText(a), a.error?.code ?? '']);
        const counts = Object.entries(run.counts).map(([k, v]) => `${k}=${v}`).join(' ');
        // Decisions without a row of this run (src/reconcile/stored-decisions.ts): say so.
        const countedOnly = Object.entries(json.countedOnly).map(([k, v]) => `${k}=${v}`).join(' ');
        const unchanged = Object.entries(json.unchanged).map(([k, v]) => `${k}=${v}`).join(' ');
        const unlisted = `${countedOnly ? `not listed (stored as counts only): ${countedOnly}\n` : ''}${unchanged ? `not listed (unchanged since the VM's last listed decision, see earlier runs): ${unchanged}\n` : ''}`;
        process.stdout.write(`${head}\ncounts: ${counts}\n${unlisted}${run.message ? `note: ${printable(run.message)}\n` : ''}${run.warnings.map((w) => `warning: ${printable(w.message)}\n`).join('')}${printable(stagesText(run.stages), { keepNewlines: true })}\n${formatTable(['vm', 'uuid', 'action', 'reason', 'current', 'target', 'outcome', 'error'], rows)}\n`);
      }
      return 0;
    }
    const runs = ledger.listRuns(positiveInt('limit', values.limit) ?? 20);
    if (values.json) process.stdout.write(`${JSON.stringify(runsJson(runs), null, 2)}\n`);
    else if (runs.length === 0) process.stdout.write('No runs recorded yet.\n');
    else {
      const rows = runs.map((r) => [r.id, r.trigger, r.dryRun ? 'yes' : 'no', r.status, r.startedAt, r.finishedAt ?? '-', r.counts.attach ?? 0, r.counts.failed ?? 0]);
      process.stdout.write(`${formatTable(['id', 'trigger', 'dry run', 'status', 'started', 'finished', 'attach', 'failed'], rows)}\n`);
    }
    return 0;
  } finally {
    await ctx.close();
  }
}
