// Builds the dashboard page into the folder given as the only argument:
// the page's own files, Apache ECharts from node_modules, and the docs that
// define its numbers rendered to HTML (so that the page's links work on an
// air-gapped installation too). Run by the project's build (CMake).
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Marked } from 'marked';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs OUTPUT_FOLDER');
  process.exit(2);
}
const target = resolve(out);
rmSync(target, { recursive: true, force: true });
mkdirSync(join(target, 'docs'), { recursive: true });

for (const name of readdirSync(join(here, 'src'))) {
  copyFileSync(join(here, 'src', name), join(target, name));
}
copyFileSync(join(here, 'node_modules/echarts/dist/echarts.min.js'), join(target, 'echarts.min.js'));

// Headings get the ids GitHub gives them, so docs/analytics.md#funnels
// works both on a forge and here.
function slug(text) {
  return text.toLowerCase().replace(/<[^>]*>/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim().replace(/\s/g, '-');
}
const marked = new Marked({
  renderer: {
    heading({ tokens, depth }) {
      const text = this.parser.parseInline(tokens);
      return `<h${depth} id="${slug(text)}">${text}</h${depth}>\n`;
    },
    link({ href, tokens }) {
      const text = this.parser.parseInline(tokens);
      // Links between the rendered pages stay here; other files are named.
      const local = /^(analytics|dashboard)\.md(#.*)?$/.exec(href);
      if (local) return `<a href="${local[1]}.html${local[2] ?? ''}">${text}</a>`;
      if (/^[a-z-]+\.md/.test(href)) return `${text} (docs/${href})`;
      return `<a href="${href}">${text}</a>`;
    },
  },
});
for (const page of ['analytics', 'dashboard']) {
  const markdown = readFileSync(join(here, '../../docs', `${page}.md`), 'utf8');
  const body = marked.parse(markdown);
  writeFileSync(join(target, 'docs', `${page}.html`), `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Funnelhouse: docs/${page}.md</title>
<link rel="stylesheet" href="/dashboard/style.css"></head>
<body class="doc"><main>${body}</main></body></html>
`);
}
console.log(`dashboard page built in ${target}`);
