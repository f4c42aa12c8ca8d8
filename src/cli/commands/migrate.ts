// `gtr migrate`: apply pending SQL migrations to the ledger (other commands also do this on open).
import { Ledger } from '../../ledger/index.js';
import { parseFlags } from '../args.js';
import type { MakeContext } from '../context.js';
import { exitLines } from '../exit-lines.js';

const MIGRATE_HELP = `Usage: gtr migrate [--config FILE]

Create the ledger database (config key "database") if needed and apply pending migrations from
migrations/. Refuses a database whose applied migrations differ from the code (edited, missing,
reordered, or newer than this version).
${exitLines(['ok', ['usage', 'usage, config or database error']])}`;

export async function runMigrate(argv: string[], makeContext: MakeContext): Promise<number> {
  const { values } = parseFlags(argv, {});
  if (values.help) {
    process.stdout.write(MIGRATE_HELP);
    return 0;
  }
  const ctx = makeContext(values);
  try {
    const ledger = Ledger.open(ctx.config.database, { migrate: false });
    try {
      const applied = ledger.migrate();
      process.stdout.write(
        applied.length === 0
          ? `${ctx.config.database}: up to date\n`
          : `${ctx.config.database}: applied ${applied.join(', ')}\n`,
      );
    } finally {
      ledger.close();
    }
    return 0;
  } finally {
    await ctx.close();
  }
}
