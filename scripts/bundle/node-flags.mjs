// The node flags gtr runs with when installed from the bundle (its launcher, gtr.sh, puts them before
// the app). Only settable when node starts, so they live in the launcher; the benchmark starts gtr with
// the same flags, so its figures are those of the installed tool.
// --max-semi-space-size=4: V8's young generation capped at 4 MB per semi-space instead of 16, the largest
// part of RSS a running process cannot change (docs/performance.md: a 100k-VM run's peak RSS ~225 ->
// ~190 MB at the same CPU). A --max-semi-space-size in NODE_OPTIONS wins.
export const NODE_FLAGS = ['--max-semi-space-size=4'];
