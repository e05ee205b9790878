import { describe, expect, it } from 'vitest';
import { BadReplyError, ServiceError } from '../../src/errors.js';
import { toProblem } from '../../src/http/problem.js';
import { replyToHttp } from '../../src/http/reply.js';

const body = new TextEncoder().encode('body');

/** What `replyToHttp` throws for a reply with `headers`. */
function thrownFor(headers: Array<[string, string]>): unknown {
  try {
    replyToHttp({ payload: body, headers });
  } catch (err) {
    return err;
  }
  throw new Error('replyToHttp did not throw');
}

describe('replyToHttp', () => {
  it('defaults to 200 and application/octet-stream', () => {
    const r = replyToHttp({ payload: body, headers: [] });
    expect(r.status).toBe(200);
    expect(r.headers).toEqual([['Content-Type', 'application/octet-stream']]);
    expect(r.body).toBe(body);
  });

  it('keeps only the first Content-Type', () => {
    const r = replyToHttp({
      payload: body,
      headers: [
        ['content-type', 'text/plain'],
        ['Content-Type', 'text/html'],
      ],
    });
    expect(r.headers).toEqual([['content-type', 'text/plain']]);
  });

  it('drops the body of 204 and 304', () => {
    expect(replyToHttp({ payload: body, headers: [['Status-Code', '204']] }).body).toBeNull();
    expect(replyToHttp({ payload: body, headers: [['Status-Code', '304']] }).body).toBeNull();
  });

  it('throws a ServiceError whose status is the code only when it is 400–599', () => {
    const err = thrownFor([
      ['Nats-Service-Error-Code', '429'],
      ['Nats-Service-Error', 'slow down'],
    ]);
    expect(err).toBeInstanceOf(ServiceError);
    expect(toProblem(err)).toMatchObject({
      slug: 'service-error',
      status: 429,
      detail: 'slow down',
    });
    expect(() =>
      replyToHttp({ payload: body, headers: [['Nats-Service-Error-Code', '200']] }),
    ).toThrow(ServiceError);
  });

  it("gives a service error's problem none of the headers that described the responder's body", () => {
    const err = thrownFor([
      ['Nats-Service-Error-Code', '400'],
      ['Content-Type', 'text/plain'],
      ['Content-Encoding', 'gzip'],
      ['Content-Language', 'de'],
      ['ETag', '"v1"'],
      ['Content-Disposition', 'attachment; filename="report.pdf"'],
      ['Content-Digest', 'sha-256=:AAAA:'],
      ['X-Trace', 'abc'],
    ]);
    expect(toProblem(err).headers).toEqual([
      ['Content-Language', 'de'],
      ['X-Trace', 'abc'],
    ]);
  });

  it('throws BadReplyError for a Status-Code HTTP cannot send', () => {
    expect(() => replyToHttp({ payload: body, headers: [['Status-Code', '103']] })).toThrow(
      BadReplyError,
    );
    expect(() => replyToHttp({ payload: body, headers: [['Status-Code', '20x']] })).toThrow(
      BadReplyError,
    );
  });
});
