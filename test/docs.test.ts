/**
 * The docs cannot drift from the code (issue 33): docs/cli.md is what scripts/cli-docs.ts
 * generates from the commands' help; every flag written beside an `audience CMD` in README.md
 * and docs/*.md is an option of that command (of that kind, for `audience train KIND`); every
 * route they name (`GET /v1/...`, `POST /v1/...`, a curl of `localhost:PORT/...`) is one the
 * service's app registers, and every /v1 route is documented; every relative link leads to a
 * file and heading that exist.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_DOCS, cliDocs, listedCommands } from '../scripts/cli-docs.js';
import type { Command } from '../src/cli/args.js';
import { events } from '../src/cli/commands/events.js';
import { features } from '../src/cli/commands/features.js';
import { generate } from '../src/cli/commands/generate.js';
import { info } from '../src/cli/commands/info.js';
import { measure } from '../src/cli/commands/measure.js';
import { models } from '../src/cli/commands/models.js';
import { report } from '../src/cli/commands/report.js';
import { score } from '../src/cli/commands/score.js';
import { segments } from '../src/cli/commands/segments.js';
import { serve } from '../src/cli/commands/serve.js';
import { train } from '../src/cli/commands/train.js';
import { worker } from '../src/cli/commands/worker.js';
import { findKind } from '../src/models/kinds.js';
import { paramsOf } from '../src/models/params.js';
import { ModelStore } from '../src/models/registry.js';
import { inProcessApp } from './online-fixture.js';

/** The documents checked, by path relative to the repository; docs/cli.md is generated and checked whole. */
const DOCS = ['README.md', ...fs.readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = (file: string) => fs.readFileSync(file, 'utf8');

let dir: string;
let app: FastifyInstance;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-docs-'));
  app = await inProcessApp({ dir, store: new ModelStore(path.join(dir, 'models')) });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The commands, by name (main.ts lists them; the test below checks these are the ones it lists). */
const COMMANDS = new Map<string, Command>([info, generate, events, features, train, score, measure, segments, models, report, serve, worker].map((c) => [c.name, c]));

/**
 * The places a markdown text shows commands: each line of a code block (lines ending in a
 * backslash joined to the next) and each inline code span, with the line it starts on.
 */
function codeTexts(md: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  const parts = md.split(/^(```.*)$/m);
  let line = 1;
  let inBlock = false;
  for (const part of parts) {
    if (/^```/.test(part)) {
      inBlock = !inBlock;
    } else if (inBlock) {
      part.split('\n').forEach((l, i, all) => {
        if (i > 0 && all[i - 1].endsWith('\\')) return; // joined to the line before
        let joined = l;
        for (let j = i; all[j]?.endsWith('\\'); j++) joined = `${joined.slice(0, -1)} ${all[j + 1] ?? ''}`;
        out.push({ line: line + i, text: joined });
      });
    } else {
      for (const m of part.matchAll(/(`+)([^`]+?)\1/g)) out.push({ line: line + part.slice(0, m.index).split('\n').length - 1, text: m[2].replace(/\n/g, ' ') });
    }
    line += part.split('\n').length - 1;
  }
  return out;
}

/** Each `audience CMD [KIND] ... --flag` in a piece of code: the command, its first argument and the flags given to it. */
function documentedFlags(code: string, names: Set<string>): Array<{ cmd: string; arg?: string; flags: string[] }> {
  const out: Array<{ cmd: string; arg?: string; flags: string[] }> = [];
  for (const m of code.matchAll(/(?<![\w-])audience\s+([a-z]+)\b/g)) {
    if (!names.has(m[1])) continue;
    // The command's own words: up to a comment, a pipe, another command or the next audience call.
    const rest = code.slice(m.index + m[0].length).split(/\s#|\||&&|;|(?<![\w-])audience\s/)[0].replace(/'[^']*'|"[^"]*"/g, 'X');
    const arg = /^\s+([a-z]+)\b/.exec(rest)?.[1];
    out.push({ cmd: m[1], arg, flags: [...rest.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((f) => f[1]) });
  }
  return out;
}

/** The routes of a Fastify app as `METHOD /path` (HEAD left out), read from printRoutes' tree. */
function routesOf(server: FastifyInstance): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const l of server.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(l);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    stack.push(m[2]);
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD')) routes.push(`${method} ${stack.join('')}`);
  }
  return routes;
}

/** Whether a documented path (`/v1/jobs/:id`, `/v1/models/NAME/report`, `/v1/visitors/{id}`) is served by a route pattern. */
function matches(route: string, doc: string): boolean {
  const pattern = new RegExp(`^${route.replace(/[.+?^$()[\]\\|]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+').replace(/\*/g, '.*')}$`);
  return pattern.test(doc.replace(/\{[^}]+\}|:[A-Za-z]+/g, 'x1'));
}

/** The routes a markdown text names: `GET /v1/...` and paths curled at `localhost:PORT` (any method). */
function documentedRoutes(md: string): Array<{ method?: string; path: string; line: number }> {
  const out: Array<{ method?: string; path: string; line: number }> = [];
  const lineOf = (i: number) => md.slice(0, i).split('\n').length;
  const clean = (p: string) => p.replace(/\?.*$/, '').replace(/[.:]+$/, '');
  for (const m of md.matchAll(/\b(GET|POST|PUT|PATCH|DELETE)\s+(\/[^\s`'"),;|[\]]*)/g)) out.push({ method: m[1], path: clean(m[2]), line: lineOf(m.index) });
  for (const m of md.matchAll(/localhost:\d+(\/[^\s`'")]*)/g)) out.push({ path: clean(m[1]), line: lineOf(m.index) });
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

describe('docs', () => {
  it('docs/cli.md is what npm run docs generates from the help', async () => {
    const now = fs.readFileSync(CLI_DOCS, 'utf8');
    // Compared whole; on a difference, name the first line that differs.
    const want = await cliDocs();
    if (now !== want) {
      const a = now.split('\n');
      const b = want.split('\n');
      const i = Array.from({ length: Math.max(a.length, b.length) }, (_, j) => j).find((j) => a[j] !== b[j])!;
      expect.fail(`docs/cli.md differs from the help at line ${i + 1}:\n  file: ${a[i]}\n  help: ${b[i]}\nrun npm run docs`);
    }
  });

  it('the commands audience --help lists are those checked here, each documented in docs/cli.md', async () => {
    const listed = (await listedCommands()).map((c) => c.name);
    expect([...COMMANDS.keys()].sort()).toEqual([...listed].sort());
    for (const name of listed) expect(text(CLI_DOCS)).toContain(`## audience ${name}\n`);
  });

  it('every flag written beside an audience command is an option of it', () => {
    const names = new Set(COMMANDS.keys());
    const wrong: string[] = [];
    let seen = 0;
    for (const file of DOCS.filter((f) => f !== 'docs/cli.md')) {
      for (const { line, text: code } of codeTexts(text(file))) {
        for (const { cmd, arg, flags } of documentedFlags(code, names)) {
          const kind = cmd === 'train' ? findKind(arg ?? '') : undefined;
          const own = kind ? ['input', 'name', 'store', 'quiet', ...Object.keys(paramsOf(kind))] : Object.keys(COMMANDS.get(cmd)!.options);
          for (const flag of flags) {
            seen++;
            if (flag !== 'help' && !own.includes(flag)) wrong.push(`${file}:${line}: audience ${cmd}${kind ? ` ${kind.kind}` : ''} has no --${flag}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(seen).toBeGreaterThan(100); // the parse found the docs' commands
  });

  it('every route the docs name is served, and every /v1 route is documented', () => {
    const routes = routesOf(app);
    expect(routes).toContain('POST /v1/jobs');
    expect(routes.length).toBeGreaterThan(15);
    const wrong: string[] = [];
    const documented: Array<{ method?: string; path: string }> = [];
    for (const file of DOCS) {
      for (const r of documentedRoutes(text(file))) {
        documented.push(r);
        const served = routes.some((route) => {
          const [method, p] = route.split(' ');
          return (r.method === undefined || r.method === method) && matches(p, r.path);
        });
        if (!served) wrong.push(`${file}:${r.line}: ${r.method ?? 'curl'} ${r.path} is no route of the service`);
      }
    }
    expect(wrong).toEqual([]);
    const undocumented = routes.filter((route) => {
      const [method, p] = route.split(' ');
      return p.startsWith('/v1/') && !documented.some((d) => d.method === method && matches(p, d.path));
    });
    expect(undocumented).toEqual([]);
  });

  it('every relative link leads to a file, and a #heading in it', () => {
    const wrong: string[] = [];
    for (const file of DOCS) {
      for (const m of text(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [rel, anchor] = target.split('#');
        const dest = rel ? path.join(path.dirname(file), rel) : file;
        if (!fs.existsSync(dest)) {
          wrong.push(`${file}: ${target}: no file ${dest}`);
          continue;
        }
        if (anchor && dest.endsWith('.md')) {
          const headings = [...text(dest).matchAll(/^#+ (.+)$/gm)].map((h) => slug(h[1]));
          if (!headings.includes(anchor)) wrong.push(`${file}: ${target}: no heading #${anchor} in ${dest}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('the docs parsers', () => {
  it('read flags from code blocks and spans, leaving comments, quotes and other commands out', () => {
    const md = ['```sh', "npx audience train kmeans --input 'a --b' \\", '    --k 4 # --not-this', 'curl x | grep --y', '```', 'and `audience score --engine tfjs` here'].join('\n');
    const found = codeTexts(md).flatMap((c) => documentedFlags(c.text, new Set(['train', 'score'])).map((d) => ({ ...d, line: c.line })));
    expect(found).toEqual([
      { cmd: 'train', arg: 'kmeans', flags: ['input', 'k'], line: 2 },
      { cmd: 'score', arg: undefined, flags: ['engine'], line: 6 },
    ]);
  });

  it('match documented paths to route patterns', () => {
    expect(matches('/v1/models/:name/report', '/v1/models/NAME/report')).toBe(true);
    expect(matches('/v1/visitors/:id', '/v1/visitors/{id}')).toBe(true);
    expect(matches('/v1/jobs/:id', '/v1/jobs/:id/cancel')).toBe(false);
    expect(matches('/v1/jobs', '/v1/job')).toBe(false);
  });
});
