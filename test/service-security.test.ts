/** Bad requests, path confinement, injection-shaped names, API key, queue limit, body limit. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, visitorRoot, waitJob, type Server } from './service-helpers.js';

let server: Server;
let dir: string;
let root: string;

beforeAll(async () => {
  ({ dir, root } = await visitorRoot(1, 5000));
  fs.symlinkSync('/etc/hostname', path.join(root, 'escape.csv'));
  fs.mkdirSync(path.join(dir, 'outside'));
  server = await startServer(['--data-root', root, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models')]);
  const train = await server.request('POST', '/v1/jobs', { type: 'train', model: 'kmeans', name: 'behavior', input: ['v-00.parquet'], params: { k: 3, 'n-init': 1 } });
  expect((await waitJob(server, train.body.id)).status).toBe('succeeded');
});

afterAll(async () => {
  await server?.stop();
});

const train = (over: Record<string, unknown>) => ({ type: 'train', model: 'kmeans', name: 'seg', input: ['v-00.parquet'], ...over });
const score = (over: Record<string, unknown>) => ({ type: 'score', input: ['v-00.parquet'], models: ['behavior'], output: 'out', ...over });

// [what, method, route, body, status, message]
const BAD: Array<[string, string, string, unknown, number, RegExp]> = [
  ['no body', 'POST', '/v1/jobs', undefined, 400, /body/i],
  ['not JSON', 'POST', '/v1/jobs', '{"type": "train",', 400, /JSON/i],
  ['no type', 'POST', '/v1/jobs', {}, 400, /type/],
  ['unknown type', 'POST', '/v1/jobs', { type: 'predict' }, 400, /body.type must be "train" or "score"/],
  ['train without name', 'POST', '/v1/jobs', { type: 'train', model: 'kmeans', input: ['v-00.parquet'] }, 400, /name/],
  ['unknown model kind', 'POST', '/v1/jobs', train({ model: 'svm' }), 400, /body.model must be one of: kmeans, propensity, lookalike, anomaly/],
  ['bad model name', 'POST', '/v1/jobs', train({ name: 'my model' }), 400, /name/],
  ['no inputs', 'POST', '/v1/jobs', train({ input: [] }), 400, /input/],
  ['unknown train option', 'POST', '/v1/jobs', train({ params: { epochz: 3 } }), 400, /params\.epochz: not an option/],
  ['propensity without label', 'POST', '/v1/jobs', train({ model: 'propensity' }), 400, /params\.label/],
  ['label not a column', 'POST', '/v1/jobs', train({ model: 'propensity', params: { label: 'bought' } }), 400, /bought/],
  ['lookalike without seeds', 'POST', '/v1/jobs', train({ model: 'lookalike' }), 400, /seed-ids.*seed-filter/],
  ['missing input file', 'POST', '/v1/jobs', train({ input: ['nope.parquet'] }), 400, /nope\.parquet: file not found/],
  ['unknown file type', 'POST', '/v1/jobs', train({ input: ['data.xlsx'] }), 400, /not found|unknown file type/],
  ['path traversal', 'POST', '/v1/jobs', train({ input: ['../outside/x.parquet'] }), 400, /input\[0\]: .*"\.\."/],
  ['absolute path outside the roots', 'POST', '/v1/jobs', train({ input: ['/etc/passwd'] }), 400, /outside the data roots/],
  ['symlink out of the roots', 'POST', '/v1/jobs', train({ input: ['escape.csv'] }), 400, /outside the data roots/],
  ['glob outside the roots', 'POST', '/v1/jobs', train({ input: ['/etc/*.conf'] }), 400, /outside the data roots/],
  ['feature spec outside the roots', 'POST', '/v1/jobs', train({ params: { features: '/etc/passwd' } }), 400, /params\.features: .*outside/],
  ['SQL-shaped file name', 'POST', '/v1/jobs', train({ input: ["x'); DROP TABLE jobs; --.parquet"] }), 400, /file not found/],
  ['SQL-shaped column name', 'POST', '/v1/jobs', train({ model: 'propensity', params: { label: 'converted"; DROP TABLE jobs; --' } }), 400, /DROP TABLE jobs/],
  ['unknown model', 'POST', '/v1/jobs', score({ models: ['ghost'] }), 400, /models\[0\]: .*ghost/],
  ['unknown model version', 'POST', '/v1/jobs', score({ models: ['behavior@9'] }), 400, /no version 9/],
  ['malformed model reference', 'POST', '/v1/jobs', score({ models: ['behavior@v2'] }), 400, /models/],
  ['rule syntax error', 'POST', '/v1/jobs', score({ audiences: { audiences: [{ name: 'a', rule: 'behavior.segment ==' }] } }), 400, /audience/],
  ['a kept column the input lacks', 'POST', '/v1/jobs', score({ options: { keep: ['nope'] } }), 400, /options\.keep: column "nope", which .*v-00\.parquet does not have/],
  ['rule on a missing column', 'POST', '/v1/jobs', score({ audiences: { audiences: [{ name: 'a', rule: 'lifetime_value > 10' }] } }), 400, /lifetime_value/],
  ['rule on a missing score', 'POST', '/v1/jobs', score({ audiences: { audiences: [{ name: 'a', rule: 'behavior.probability > 0.5' }] } }), 400, /^audiences: audience "a": "behavior\.probability" is not a score/],
  // The definitions' schema checks a body as it checks a file, with the same words (test/audiences.test.ts).
  ['audience holdout of 2', 'POST', '/v1/jobs', score({ audiences: { audiences: [{ name: 'a', rule: 'x > 1', holdout: 2 }] } }), 400, /^audiences: audience "a": "holdout" must be a share from 0 up to \(not including\) 1$/],
  ['audience with an unknown key', 'POST', '/v1/jobs', score({ audiences: { audiences: [{ name: 'a', rule: 'x > 1', limit: 5 }] } }), 400, /^audiences: audience "a": unknown key "limit" \(known: name, rule, description, suppress, cap, holdout\)$/],
  ['SQL-shaped rule column', 'POST', '/v1/jobs', score({ audiences: { audiences: [{ name: 'a', rule: '"x; DROP TABLE t" > 1' }] } }), 400, /audience/],
  ['output outside the roots', 'POST', '/v1/jobs', score({ output: path.join('/tmp', 'elsewhere') }), 400, /output: .*outside the data roots/],
  ['output traversal', 'POST', '/v1/jobs', score({ output: 'a/../../outside' }), 400, /output: .*"\.\."/],
  ['tiny shards', 'POST', '/v1/jobs', score({ options: { shardRows: 5 } }), 400, /shardRows/],
  ['unknown field', 'POST', '/v1/jobs', score({ priority: 'high' }), 400, /unknown field "priority"/],
  ['unknown job', 'GET', '/v1/jobs/job_nope', undefined, 404, /no job job_nope/],
  ['malformed job id', 'GET', '/v1/jobs/..%2F..%2Fetc', undefined, 400, /id/],
  ['cancel an unknown job', 'POST', '/v1/jobs/job_nope/cancel', undefined, 404, /no job/],
  ['unknown status filter', 'GET', '/v1/jobs?status=done', undefined, 400, /status/],
  ['page size out of range', 'GET', '/v1/jobs?limit=100000', undefined, 400, /limit/],
  ['unknown model name', 'GET', '/v1/models/ghost', undefined, 404, /no model "ghost"/],
  ['unknown route', 'GET', '/v1/nothing', undefined, 404, /no route GET \/v1\/nothing/],
];

describe('bad requests', () => {
  it.each(BAD)('%s: %s %s -> status and message', async (_what, method, route, body, status, message) => {
    const r = await server.request(method, route, body);
    expect(r.status, r.text).toBe(status);
    expect(r.body.message, r.text).toMatch(message);
    // The error is the status's name (HTTP's reason phrase), never a class name such as FastifyError.
    expect(r.body.error).toBe({ 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 413: 'Payload Too Large', 415: 'Unsupported Media Type' }[status as number]);
    if (process.env.SHOW_MESSAGES) process.stderr.write(`${_what}: ${r.status} ${r.body.message}\n`);
  });

  it('leaves the server healthy, with no job created by any of them', async () => {
    const health = await server.request('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body.jobs).toMatchObject({ queued: 0, running: 0, succeeded: 1, failed: 0 });
    expect(fs.existsSync(path.join(root, 'out'))).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'outside'))).toEqual([]);
  });

  it('serves the OpenAPI document', async () => {
    const doc = await server.request('GET', '/docs/json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/cancel', '/v1/models', '/v1/models/{name}', '/healthz', '/readyz', '/metrics']));
    // The audience definitions' schema is the one a definitions file is checked with: every field documented.
    expect(JSON.stringify(doc.body.paths['/v1/jobs'].post)).toMatch(/"holdout".*"exclusiveMaximum":1/);
  });
});

describe('API key, queue limit and body limit', () => {
  let guarded: Server;
  beforeAll(async () => {
    guarded = await startServer(['--data-root', root, '--data-dir', path.join(dir, 'data2'), '--store', path.join(dir, 'models'), '--max-queued', '0', '--body-limit', '2048'], {
      AUDIENCE_API_KEY: 'sekret-key',
    });
  });
  afterAll(async () => {
    await guarded?.stop();
  });
  const auth = { authorization: 'Bearer sekret-key' };

  it('requires the key on every route but health, compared in constant time', async () => {
    expect((await guarded.request('GET', '/v1/jobs')).status).toBe(401);
    expect((await guarded.request('GET', '/v1/jobs', undefined, { authorization: 'Bearer sekret-kez' })).status).toBe(401);
    expect((await guarded.request('GET', '/v1/jobs', undefined, { authorization: 'sekret-key' })).status).toBe(401);
    expect((await guarded.request('GET', '/metrics')).status).toBe(401);
    expect((await guarded.request('GET', '/docs/json')).status).toBe(401);
    expect((await guarded.request('GET', '/v1/jobs', undefined, auth)).status).toBe(200);
    expect((await guarded.request('GET', '/healthz')).status).toBe(200);
    expect((await guarded.request('GET', '/readyz')).status).toBe(200);
  });

  it('answers 429 when the queue is full and 413 beyond the body limit', async () => {
    const full = await guarded.request('POST', '/v1/jobs', train({}), auth);
    expect(full.status).toBe(429);
    expect(full.body.message).toMatch(/queue is full/);
    const big = await guarded.request('POST', '/v1/jobs', train({ params: { exclude: 'x'.repeat(4000) } }), auth);
    expect(big.status).toBe(413);
  });
});
