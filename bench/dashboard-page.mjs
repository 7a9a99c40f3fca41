// The dashboard page in Debian's chromium (bench/dashboard runs this): the
// time from opening /dashboard to every panel drawn, the median of FH_RUNS
// loads, everyone and a filter, with the ratio to FH_BASELINE_MS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const url = process.env.FH_URL;
const runs = Number(process.env.FH_RUNS || 5);
const baseline = Number(process.env.FH_BASELINE_MS);
const profile = mkdtempSync(join(tmpdir(), 'funnelhouse-bench-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
async function load(path) {
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(`${url}${path}`);
  await page.waitForFunction(() => [...document.querySelectorAll('.panel, #overview')]
    .every((node) => node.dataset.state === 'ready'), null, { timeout: 60_000 });
  const took = Date.now() - started;
  await page.close();
  return took;
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
for (const [label, path] of [['everyone', '/dashboard'], ['newsletter, from 2026-01-01', '/dashboard?from=2026-01-01&segment=channel:newsletter']]) {
  const times = [];
  for (let i = 0; i < runs; ++i) times.push(await load(path));
  console.log(`page ready (${label}): median ${median(times)} ms of [${times.join(', ')}] (${(median(times) / baseline).toFixed(3)} x baseline)`);
}
await context.close();
rmSync(profile, { recursive: true, force: true });
