// The shared settings engine (core/settings/) behind `redline serve` and `redline controller`:
// one file with both sections, origins (flag/env/file/default), every problem at once, the
// caller's cross-checks, argv handling and --help lines.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROLLER_SPEC } from '../../core/settings/controller.js';
import { describeSettings, loadSettings, type LoadInput } from '../../core/settings/load.js';
import { resolveSettings } from '../../core/settings/resolve.js';
import { SERVE_SPEC } from '../../core/settings/serve.js';
import type { Setting, SettingsSpec } from '../../core/settings/spec.js';

const TABLE: readonly Setting[] = [
  { path: 'port', kind: 'port', env: 'T_PORT', flag: '--port', default: 1000, doc: 'a port' },
  { path: 'debug', kind: 'bool', env: 'T_DEBUG', flag: '--debug', default: true, doc: 'a switch' },
  { path: 'size', kind: 'bytes', env: 'T_SIZE', default: 2048, min: 1024, max: 4096, doc: 'a size' },
  { path: 'dir', kind: 'path', env: 'T_DIR', flag: '--dir', default: null, doc: 'a directory' },
  { path: 'tags', kind: 'list', env: 'T_TAGS', flag: '--tag', default: [], doc: 'tags' },
  { path: 'mode', kind: 'enum', values: ['a', 'b'], env: 'T_MODE', flag: '--mode', default: 'a', doc: 'a mode' },
  { path: 'limits.low', kind: 'int', env: 'T_LOW', default: 1, min: 0, max: 100, doc: 'low' },
  { path: 'limits.high', kind: 'int', env: 'T_HIGH', flag: '--high', default: 10, min: 0, max: 100, doc: 'high' },
  { path: 'labels', kind: 'labels', env: 'T_LABELS', default: { app: 'x' }, doc: 'labels' },
  { path: 'namespaces', kind: 'namespaces', env: 'T_NAMESPACES', default: ['kube-system'], doc: 'namespaces' },
  {
    path: 'even',
    kind: 'custom',
    env: 'T_EVEN',
    default: 2,
    parse: (v) => (Number(v) % 2 === 0 ? { ok: true, value: Number(v) } : { ok: false, problem: 'must be even' }),
    doc: 'an even number',
  },
];

const SPEC: SettingsSpec = {
  section: 'serve',
  table: TABLE,
  check: (c) => {
    const [low, high] = [c.get<number>('limits.low'), c.get<number>('limits.high')];
    return low !== undefined && high !== undefined && low >= high
      ? [{ path: 'serve.limits.low', message: `must be below limits.high (${high}) (${c.origin('limits.low')}; high ${c.origin('limits.high')})` }]
      : [];
  },
};

interface T {
  port: number;
  debug: boolean;
  size: number;
  dir: string | null;
  tags: string[];
  mode: string;
  limits: { low: number; high: number };
  labels: Record<string, string>;
  namespaces: string[];
  even: number;
}

function load(input: Partial<LoadInput> & { files?: Record<string, string> }, spec: SettingsSpec = SPEC) {
  const files = input.files ?? {};
  return loadSettings<T>(spec, {
    argv: input.argv ?? [],
    env: input.env ?? {},
    cwd: '/w',
    extraFlags: input.extraFlags,
    readFile: (f) => {
      if (files[f] === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return files[f]!;
    },
  });
}

const BOTH = `serve:
  port: 7000
  policiesDir: lib
  dev: true
controller:
  workers: 3
  policiesDir: ./lib
`;

describe('one config file, two sections', () => {
  it('each process reads its own section (paths relative to the file) and ignores the other one', () => {
    const files: Record<string, string> = { '/etc/redline/config.yaml': BOTH };
    const readFile = (f: string): string => files[f] ?? '';
    const serve = loadSettings(SERVE_SPEC, { argv: ['--config', '/etc/redline/config.yaml'], env: {}, cwd: '/w', readFile });
    expect(serve.settings).toMatchObject({ port: 7000, policiesDir: '/etc/redline/lib', dev: true });
    expect(serve.sections['controller']).toEqual({ workers: 3, policiesDir: './lib' });

    const controller = loadSettings(CONTROLLER_SPEC, { argv: ['--config', '/etc/redline/config.yaml'], env: {}, cwd: '/w', readFile });
    expect(controller.problems).toEqual([]);
    expect(controller.settings).toMatchObject({ workers: 3, policiesDir: '/etc/redline/lib', healthPort: 8081 });

    const engine = load({ argv: ['--config', '/etc/redline/config.yaml'], files }, { ...SPEC, section: 'controller', table: [] });
    expect(engine.problems).toEqual([{ path: 'controller.workers', message: 'unknown field (from file /etc/redline/config.yaml)' }, { path: 'controller.policiesDir', message: 'unknown field (from file /etc/redline/config.yaml)' }]);
  });

  it('checks the other sections (unknown, not a mapping) unless told to ignore them', () => {
    const files = { '/w/c.yaml': 'serve: {}\ncontroller: 7\nmetrics: {}\n' };
    expect(load({ argv: ['--config', 'c.yaml'], files }).problems).toEqual([
      { path: 'controller', message: 'must be a mapping, got 7 (from file c.yaml)' },
      { path: 'metrics', message: 'unknown section (from file c.yaml); known: serve, controller' },
    ]);
    expect(load({ argv: ['--config', 'c.yaml'], files }, { ...SPEC, otherSections: 'ignore' }).problems).toEqual([]);
  });
});

describe('origins and problems', () => {
  it('layers default < file < env < flag and reports where each bad value came from', () => {
    const files = { '/w/c.yaml': 'serve:\n  port: nope\n  mode: c\n' };
    const r = load({ argv: ['--config', 'c.yaml', '--high', '500'], env: { T_SIZE: '1Mi' }, files });
    expect(r.settings).toBeNull();
    expect(r.problems).toEqual([
      { path: 'serve.port', message: 'must be an integer 0-65535, got "nope" (from file c.yaml)' },
      { path: 'serve.size', message: 'must be a byte count above 1023 (1023 bytes) and at most 4096 (e.g. 2Ki), got "1Mi" (from env T_SIZE)' },
      { path: 'serve.mode', message: 'must be one of a, b, got "c" (from file c.yaml)' },
      { path: 'serve.limits.high', message: 'must be an integer 0-100, got "500" (from flag --high)' },
    ]);
  });

  it('reports every problem at once: usage, file, fields, custom kinds', () => {
    const files = { '/w/c.yaml': 'serve:\n  prot: 1\n  limits: 3\n' };
    const r = load({ argv: ['--config', 'c.yaml', '--bogus', '--dir', 'stray'], env: { T_EVEN: '3', T_LABELS: 'novalue', T_NAMESPACES: 'ok,Not_OK' }, files });
    expect(r.usage).toEqual([{ flag: '--bogus', issue: 'unknown', message: 'unknown flag --bogus' }]);
    expect(r.positional).toEqual([]);
    expect(r.problems.map((p) => p.path)).toEqual(['serve.prot', 'serve.limits', 'serve.labels', 'serve.namespaces', 'serve.even']);
    expect(r.problems[0]!.message).toBe('unknown field (from file c.yaml); did you mean port?');
    expect(r.problems[4]!.message).toBe('must be even, got "3" (from env T_EVEN)');
  });

  it('runs the caller’s cross-checks with origins; `clean` tells whether anything else failed', () => {
    const r = load({ argv: ['--high', '4'], env: { T_LOW: '7' } });
    expect(r.problems).toEqual([{ path: 'serve.limits.low', message: 'must be below limits.high (4) (from env T_LOW; high from flag --high)' }]);
    const seen: boolean[] = [];
    const spy: SettingsSpec = { ...SPEC, check: (c) => (seen.push(c.clean), []) };
    load({}, spy);
    load({ argv: ['--nope'] }, spy);
    load({ env: { T_PORT: 'x' } }, spy);
    expect(seen).toEqual([true, false, false]);
  });

  it('resolves a section without argv (pure) and deep-freezes the result', () => {
    const r = resolveSettings<T>(SPEC, { file: { tags: ['a'], limits: { high: 20 } }, env: { T_DEBUG: 'off' }, cwd: '/' });
    expect(r.problems).toEqual([]);
    expect(r.settings).toMatchObject({ tags: ['a'], debug: false, limits: { low: 1, high: 20 }, dir: null });
    expect(Object.isFrozen(r.settings!.limits)).toBe(true);
    expect(Object.isFrozen(r.settings!.tags)).toBe(true);
  });
});

describe('argv', () => {
  it('flags with values, --flag=value, --no-<bool>, repeated list flags, extra flags, positionals, --help', () => {
    const r = load({
      argv: ['render', '--port=8', '--no-debug', '--tag', 'a,b', '--tag=c', '--dir', 'd', '--namespace', 'team', 'more', '--help'],
      extraFlags: ['--namespace'],
    });
    expect(r.help).toBe(true);
    expect(r.usage).toEqual([]);
    expect(r.positional).toEqual(['render', 'more']);
    expect(r.extras).toEqual(new Map([['--namespace', 'team']]));
    expect(r.settings).toMatchObject({ port: 8, debug: false, tags: ['a', 'b', 'c'], dir: path.resolve('/w', 'd') });
  });

  it('a flag without its value is a usage problem; REDLINE_CONFIG names the file', () => {
    const r = load({ argv: ['--port', '--debug', '--config'], env: { REDLINE_CONFIG: 'x.yaml' } });
    expect(r.usage).toEqual([
      { flag: '--port', issue: 'needs-value', message: 'flag --port needs a value' },
      { flag: '--config', issue: 'needs-value', message: 'flag --config needs a value' },
    ]);
    expect(r.problems).toEqual([{ path: 'config', message: 'cannot read x.yaml: ENOENT' }]);
    expect(r.configFile).toBe('/w/x.yaml');
  });

  it('--help lines: flag, full path, env, default, doc', () => {
    const lines = describeSettings(SPEC);
    expect(lines.slice(0, 3)).toEqual(['  --port VALUE', '      serve.port, env T_PORT; default 1000', '      a port']);
    expect(lines).toContain('  --debug');
    expect(lines).toContain('  --tag A,B');
    expect(lines).toContain('  (file/env only)');
  });
});
