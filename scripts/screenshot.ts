// `npm run screenshot`: renews docs/status-page.png, the picture of the status page in the README and
// docs/status-page.md, from a simulator-fed daemon in Debian's chromium (the scene of the browser test,
// test/helpers/status-page-scene.ts, which takes the same picture into a temp file). Needs the built CLI
// (npm run build) and /usr/bin/chromium. An optional argument writes the PNG elsewhere.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { statusPageScene } from '../test/helpers/status-page-scene.js';

const out = resolve(process.argv[2] ?? fileURLToPath(new URL('../docs/status-page.png', import.meta.url)));
const scene = await statusPageScene();
try {
  await scene.screenshot(out);
} finally {
  await scene.close();
}
console.log(`screenshot: wrote ${out} (the status page of ${scene.status.fleetTotal} simulated VMs)`);
