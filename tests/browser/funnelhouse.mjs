// What the browser tests share: psql, the real server's environment, and
// starting and stopping `funnelhouse serve`.
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// One psql command's output, tab-separated, without the trailing newline.
export function psql(url, sql) {
  return execFileSync('psql', [url, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-F', '\t', '-c', sql], { encoding: 'utf8' }).trimEnd();
}

// The rows of one psql command, each a list of its cells.
export function psqlRows(url, sql) {
  const text = psql(url, sql);
  return text === '' ? [] : text.split('\n').map((line) => line.split('\t'));
}

// The server's settings for a test: the inherited environment without any
// FUNNELHOUSE_ variable, the repository's contracts and migrations, keys and
// spool under `work`, and `extra` on top.
export function environment({ databaseUrl, work, extra = {} }) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FUNNELHOUSE_')));
  return {
    ...inherited,
    FUNNELHOUSE_DATABASE_URL: databaseUrl,
    FUNNELHOUSE_KEYS_FILE: join(work, 'keys.json'),
    FUNNELHOUSE_SCHEMAS_DIR: join(root, 'schemas'),
    FUNNELHOUSE_MIGRATIONS_DIR: join(root, 'migrations'),
    FUNNELHOUSE_MODELS_DIR: join(root, 'models'),
    FUNNELHOUSE_SPOOL_DIR: join(work, 'spool'),
    FUNNELHOUSE_LISTEN: '127.0.0.1:0',
    FUNNELHOUSE_REFRESH_INTERVAL: '0',
    FUNNELHOUSE_LOG_LEVEL: 'warn',
    ...extra,
  };
}

// Starts `binary serve`; resolves to { process, url } once it listens.
export function serve(binary, env) {
  const child = spawn(binary, ['serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const found = /^listening on (http:\/\/\S+)$/m.exec(out);
      if (found) { clearTimeout(timer); resolveUrl({ process: child, url: found[1] }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited with ${code}: ${out}`)); });
  });
}

// Stops a server started by serve() (SIGTERM; waits for it to exit).
export async function stop(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
}
