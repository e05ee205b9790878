import { describe, expect, it } from 'vitest';
import { InvalidSubjectError } from '../../src/errors.js';
import { subjectFromPath } from '../../src/http/rr.js';

describe('subjectFromPath', () => {
  it('takes the decoded path after /rr/', () => {
    expect(subjectFromPath('/rr/orders.eu')).toBe('orders.eu');
    expect(subjectFromPath('/rr/a%2Fb')).toBe('a/b');
  });

  it('decodes exactly once', () => {
    expect(subjectFromPath('/rr/a%252Eb')).toBe('a%2Eb');
  });

  it.each(['/rr/', '/rr', '/rr/a%FF', '/rr/a%0D%0Ab', '/rr/a%2A', '/rr/a..b'])(
    'refuses %j',
    (path) => {
      expect(() => subjectFromPath(path)).toThrow(InvalidSubjectError);
    },
  );
});
