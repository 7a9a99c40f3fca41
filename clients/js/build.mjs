// Builds the tracker into the folder given (default dist/):
//   funnelhouse.min.js  the script-tag build (sets window.funnelhouse)
//   funnelhouse.mjs     the module build (import { funnelhouse } ...)
//   size.json           both sizes, minified and gzipped
// and fails when either is 5 KB (5,120 bytes) or more minified and gzipped.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, 'dist'));
const limit = Number(process.env.FUNNELHOUSE_TRACKER_LIMIT || 5120);
const { version } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const banner = `/* funnelhouse.js ${version} */`;

mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, target: 'es2019', banner: { js: banner }, logLevel: 'error', legalComments: 'none' };
await build({ ...common, entryPoints: [join(here, 'src/browser.js')], format: 'iife', outfile: join(out, 'funnelhouse.min.js') });
await build({ ...common, entryPoints: [join(here, 'src/index.js')], format: 'esm', outfile: join(out, 'funnelhouse.mjs') });

const sizes = {};
let over = false;
for (const file of ['funnelhouse.min.js', 'funnelhouse.mjs']) {
  const bytes = readFileSync(join(out, file));
  const gzipped = gzipSync(bytes, { level: 9 }).length;
  sizes[file] = { minified: bytes.length, gzipped };
  console.log(`${file}: ${bytes.length} bytes minified, ${gzipped} bytes gzipped (limit ${limit})`);
  if (gzipped >= limit) over = true;
}
writeFileSync(join(out, 'size.json'), `${JSON.stringify({ version, limit, ...sizes }, null, 2)}\n`);
if (over) {
  console.error(`the tracker must stay under ${limit} bytes minified and gzipped`);
  process.exit(1);
}
