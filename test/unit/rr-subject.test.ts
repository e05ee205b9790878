import { describe, expect, it } from 'vitest';
import { InvalidSubjectError } from '../../src/errors.js';
import { subjectFromUrl } from '../../src/http/rr.js';

describe('subjectFromUrl', () => {
  it('takes the decoded path after /rr/ and ignores the query', () => {
    expect(subjectFromUrl('/rr/orders.eu?timeout=1s')).toBe('orders.eu');
    expect(subjectFromUrl('/rr/a%2Eb')).toBe('a.b');
  });

  it('understands an absolute-form request target', () => {
    expect(subjectFromUrl('http://gw.example:8080/rr/orders.eu?x=1')).toBe('orders.eu');
  });

  it('decodes exactly once', () => {
    expect(subjectFromUrl('/rr/a%252Eb')).toBe('a%2Eb');
  });

  it.each(['/rr/', '/rr', '/rr/a%ZZ', '/rr/a%0D%0Ab', '/rr/a%2E%2Eb'])('refuses %j', (url) => {
    expect(() => subjectFromUrl(url)).toThrow(InvalidSubjectError);
  });
});
