/**
 * The gateway's Node flags are written in four places: `npm start`, the Dockerfile's entry point,
 * the demo script and the benchmark. They must agree — the benchmark measures what users run — and
 * Node must accept them (a misspelt V8 flag stops the process before it starts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(resolve(ROOT, file), 'utf8');

/** The words between `node` and `dist/main.js` in a command line. */
function flagsBeforeMain(words: string[]): string[] {
  const main = words.indexOf('dist/main.js');
  expect(main, `no dist/main.js in ${words.join(' ')}`).toBeGreaterThan(0);
  return words.slice(words.indexOf('node') + 1, main);
}

const places: Record<string, () => string[]> = {
  'npm start': () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
      .scripts;
    return flagsBeforeMain(scripts.start!.split(/\s+/));
  },
  'Dockerfile ENTRYPOINT': () => {
    const line = read('Dockerfile')
      .split('\n')
      .find((l) => l.startsWith('ENTRYPOINT '));
    return flagsBeforeMain(JSON.parse(line!.slice('ENTRYPOINT '.length)) as string[]);
  },
  'npm run demo': () => {
    const line = read('scripts/demo.sh')
      .split('\n')
      .find((l) => l.includes('dist/main.js'));
    return flagsBeforeMain(line!.trim().split(/\s+/));
  },
  'the benchmark': () => {
    const list = /GATEWAY_NODE_FLAGS = \[([^\]]*)\]/.exec(read('bench/lib/stack.mjs'))?.[1] ?? '';
    return [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  },
};

describe('the gateway’s Node flags', () => {
  const expected = places['npm start']!();

  it('are the young-generation, bytecode, old-generation and pretenuring flags the README explains', () => {
    expect(expected).toEqual([
      '--max-semi-space-size=8',
      '--min-semi-space-size=8',
      '--no-flush-bytecode',
      '--initial-old-space-size=64',
      '--no-allocation-site-pretenuring',
    ]);
    for (const flag of expected) expect(read('README.md')).toContain(flag);
  });

  it.each(Object.keys(places).filter((name) => name !== 'npm start'))(
    'are the same in %s as in npm start',
    (name) => {
      expect(places[name]!()).toEqual(expected);
    },
  );

  it('are accepted by this Node', () => {
    const out = execFileSync(process.execPath, [...expected, '-e', 'process.stdout.write("ok")'], {
      encoding: 'utf8',
    });
    expect(out).toBe('ok');
  });
});
