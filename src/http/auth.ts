/**
 * Caller authentication with bearer API keys (off while `auth.apiKeys` is empty). Keys are compared
 * as SHA-256 hashes in constant time, against every configured key, so timing tells nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { KeyNotPermittedError, UnauthorizedError } from '../errors.js';
import { SubjectPolicy } from '../subject.js';

interface CompiledKey {
  name: string;
  sha256: Buffer;
  subjects: SubjectPolicy | undefined;
  routes: ReadonlySet<string> | undefined;
}

/** Checks a request's credentials; `undefined` when authentication is off. */
export type Authorizer = (
  authorization: string | undefined,
  subject: string,
  route: string,
) => string;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Builds the authorizer for a loaded config (whose keys all carry their hash). */
export function createAuthorizer(config: Config): Authorizer | undefined {
  if (config.auth.apiKeys.length === 0) return undefined;
  const keys: CompiledKey[] = config.auth.apiKeys.map((key) => ({
    name: key.name,
    sha256: Buffer.from(key.sha256 ?? '', 'hex'),
    subjects: key.allow ? new SubjectPolicy(key.allow, []) : undefined,
    routes: key.routes ? new Set(key.routes) : undefined,
  }));

  /** Returns the key's name, or throws 401 (missing or unknown key) or 403 (key not allowed here). */
  return function authorize(authorization, subject, route) {
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined) throw new UnauthorizedError('a bearer API key is required');
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let match: CompiledKey | undefined;
    // No early exit: every key is compared, whichever matches.
    for (const key of keys) {
      if (timingSafeEqual(presented, key.sha256) && match === undefined) match = key;
    }
    if (!match) throw new UnauthorizedError('the API key is not valid');
    if (match.routes && !match.routes.has(route)) throw new KeyNotPermittedError(match.name, route);
    if (match.subjects && !match.subjects.permits(subject))
      throw new KeyNotPermittedError(match.name, subject);
    return match.name;
  };
}
