import { describe, expect, it } from 'vitest';
import {
  patternProblem,
  SubjectPolicy,
  subjectMatches,
  subjectProblem,
  tokenProblem,
} from '../../src/subject.js';

describe('subjectProblem', () => {
  it.each(['a', 'orders.eu.create', 'a-b_c.$x.1', '~!@#$%^&()', 'x'.repeat(256)])(
    'accepts %j',
    (s) => {
      expect(subjectProblem(s)).toBeUndefined();
    },
  );

  it.each([
    ['', 'empty'],
    ['a..b', 'empty token'],
    ['.a', 'empty token'],
    ['a.', 'empty token'],
    ['a.*', 'wildcards'],
    ['a.>', 'wildcards'],
    ['a*b', 'wildcards'],
    ['a b', 'printable ASCII'],
    ['a\tb', 'printable ASCII'],
    ['a\r\nb', 'printable ASCII'],
    ['a\u0000', 'printable ASCII'],
    ['café', 'printable ASCII'],
    ['a\u007f', 'printable ASCII'],
    ['x'.repeat(257), 'longer than 256'],
  ])('refuses %j (%s)', (s, reason) => {
    expect(subjectProblem(s)).toContain(reason);
  });
});

describe('tokenProblem', () => {
  it('refuses dots as well as everything a subject refuses', () => {
    expect(tokenProblem('a.b')).toContain('dots');
    expect(tokenProblem('*')).toContain('wildcards');
    expect(tokenProblem('')).toContain('empty');
    expect(tokenProblem('user-42')).toBeUndefined();
  });
});

describe('patternProblem', () => {
  it.each(['>', '*', 'a.*.c', 'a.>', '$SYS.>'])('accepts %j', (p) => {
    expect(patternProblem(p)).toBeUndefined();
  });
  it.each(['', 'a..b', 'a.>.b', 'a*', 'a.b>', 'a b'])('refuses %j', (p) => {
    expect(patternProblem(p)).toBeDefined();
  });
});

describe('subjectMatches', () => {
  it.each([
    ['>', 'a', true],
    ['>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c', true],
    ['a.*', 'a.b', true],
    ['a.*', 'a.b.c', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.b', 'a.b', true],
    ['a.b', 'a.bc', false],
    ['*', 'a.b', false],
  ] as const)('%s matches %s: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe('SubjectPolicy', () => {
  const policy = new SubjectPolicy(['orders.>', 'users.*'], ['orders.admin.>']);
  it('needs an allow match and no deny match', () => {
    expect(policy.permits('orders.eu.create')).toBe(true);
    expect(policy.permits('users.get')).toBe(true);
    expect(policy.permits('users.get.1')).toBe(false);
    expect(policy.permits('orders.admin.drop')).toBe(false);
    expect(policy.permits('billing.x')).toBe(false);
  });
});
