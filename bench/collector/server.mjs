// The collector a team writes instead of adopting Funnelhouse, as bench/run
// measures it: node:http, the contracts compiled with ajv, and each
// request's valid events COPYed into one table of the same PostgreSQL,
// answered 200 after the commit. One worker per core (node:cluster). It has
// none of Funnelhouse's guarantees (no dedup, no identity, rejected events
// dropped, nothing kept if PostgreSQL is down): what it shows is how fast the
// plain path is.
//
//   node server.mjs DATABASE_URL SCHEMAS_DIR KEYS_FILE
//
// Prints "listening on http://127.0.0.1:PORT" once every worker listens.
import cluster from 'node:cluster';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';

const [databaseUrl, schemasDir, keysFile] = process.argv.slice(2);
const table = 'collector_events';

if (cluster.isPrimary) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
      event_id text NOT NULL, event_name text NOT NULL, event_type text NOT NULL,
      anonymous_id text, user_id text, occurred_at timestamptz NOT NULL,
      received_at timestamptz NOT NULL, source text NOT NULL,
      properties jsonb NOT NULL, context jsonb NOT NULL)`);
  await client.end();
  const server = http.createServer();
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close();
    const workers = os.availableParallelism();
    let ready = 0;
    for (let i = 0; i < workers; i++) {
      cluster.fork({ COLLECTOR_PORT: String(port) }).on('message', () => {
        if (++ready === workers) console.log(`listening on http://127.0.0.1:${port}`);
      });
    }
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers)) worker.kill();
    process.exit(0);
  });
} else {
  serve(Number(process.env.COLLECTOR_PORT));
}

// The newest version of each contract, compiled.
function loadContracts() {
  const ajv = new Ajv({ allErrors: false, strict: false });
  addFormats(ajv);
  const contracts = new Map();
  for (const name of fs.readdirSync(schemasDir)) {
    const folder = path.join(schemasDir, name);
    const versions = fs.readdirSync(folder).filter((file) => file.endsWith('.json'));
    versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const newest = JSON.parse(fs.readFileSync(path.join(folder, versions.at(-1)), 'utf8'));
    contracts.set(name, { validate: ajv.compile(newest.schema), meta: newest.meta });
  }
  return contracts;
}

const namesOfTypes = { page: 'page_view', screen: 'screen_view', identify: 'identify', group: 'group', alias: 'alias' };

// COPY text: backslash, tab, newline and carriage return escaped; \N for null.
function copyText(value) {
  if (value === undefined || value === null) return '\\N';
  return String(value).replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]);
}

function rowOf(message, contracts, source, receivedAt) {
  const type = message.type;
  const name = type === 'track' ? message.event : namesOfTypes[type];
  const contract = contracts.get(name);
  if (!contract || !contract.meta.sources.includes(source)) return null;
  const payload = (type === 'identify' || type === 'group' ? message.traits : message.properties) ?? {};
  if (!contract.validate(payload)) return null;
  const occurredAt = message.originalTimestamp ?? message.timestamp ?? receivedAt;
  return [message.messageId, name, type, message.anonymousId, message.userId, occurredAt, receivedAt,
    source, JSON.stringify(payload), JSON.stringify(message.context ?? {})].map(copyText).join('\t') + '\n';
}

async function store(pool, rows) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await pipeline(Readable.from([rows.join('')]),
      client.query(copyStreams.from(`COPY ${table} FROM STDIN`)));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

function serve(port) {
  const contracts = loadContracts();
  const keys = new Map(JSON.parse(fs.readFileSync(keysFile, 'utf8')).map((k) => [k.key, k.source]));
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', async () => {
      const answer = (status, body) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      const auth = (request.headers.authorization ?? '').replace(/^Basic /, '');
      const source = keys.get(Buffer.from(auth, 'base64').toString().replace(/:$/, ''));
      if (!source) return answer(401, { error: 'unknown write key' });
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return answer(400, { error: 'body is not valid JSON' });
      }
      const messages = request.url === '/v1/batch' ? body.batch ?? [] : [{ type: 'track', ...body }];
      const receivedAt = new Date().toISOString();
      const rows = messages.map((m) => rowOf(m, contracts, source, receivedAt)).filter(Boolean);
      try {
        if (rows.length) await store(pool, rows);
        answer(200, { accepted: rows.length, rejected: messages.length - rows.length });
      } catch (error) {
        answer(503, { error: String(error.message) });
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => process.send('listening'));
}
