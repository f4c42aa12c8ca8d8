#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `prepare` on npm ci / install).
import { setFlagsFromString } from 'node:v8';

// Let the old generation grow by 50% over the live data before a major GC instead of V8's default of up
// to 4x: a reconcile of 100k VMs promotes a few MB/s of short-lived request objects, and with the
// default the heap reached 3-4x its ~40 MB live size. Measured: peak RSS 282-284 MB -> 217-241 MB at
// the same wall time (README, Performance). An explicit --heap-growing-percent in NODE_OPTIONS wins.
if (!process.execArgv.concat(process.env.NODE_OPTIONS ?? '').join(' ').includes('--heap-growing-percent')) {
  setFlagsFromString('--heap-growing-percent=50');
}

const { main, dropOutputOnClosedPipe } = await import('../dist/cli/main.js');

dropOutputOnClosedPipe(process.stdout);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`gtr: internal error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 70;
  },
);
