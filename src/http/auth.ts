/**
 * Caller authentication with bearer API keys (off while `auth.apiKeys` is empty). Keys are compared
 * as SHA-256 hashes in constant time, against every configured key, so timing tells nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { KeyNotPermittedError, UnauthorizedError } from '../errors.js';
import { SubjectPolicy } from '../subject.js';

/** A configured API key, ready to compare and to check. */
export interface ApiKey {
  readonly name: string;
  readonly sha256: Buffer;
  readonly subjects: SubjectPolicy | undefined;
  readonly routes: ReadonlySet<string> | undefined;
}

/**
 * Caller authentication in two steps: who the caller is, before anything else about the request is
 * looked at (so a stranger learns nothing of the subjects), then whether its key may go where the
 * request goes.
 */
export interface Authenticator {
  /** The caller's key; throws 401 (missing or unknown key). */
  authenticate(authorization: string | undefined): ApiKey;
  /** Throws 403 when `key` may not reach `subject` through `route`. */
  permit(key: ApiKey, subject: string, route: string): void;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Builds the authenticator for a loaded config (whose keys all carry their hash); `undefined` when off. */
export function createAuthenticator(config: Config): Authenticator | undefined {
  if (config.auth.apiKeys.length === 0) return undefined;
  const keys: ApiKey[] = config.auth.apiKeys.map((key) => ({
    name: key.name,
    sha256: Buffer.from(key.sha256 ?? '', 'hex'),
    subjects: key.allow ? new SubjectPolicy(key.allow, []) : undefined,
    routes: key.routes ? new Set(key.routes) : undefined,
  }));
  return {
    authenticate(authorization) {
      const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
      if (token === undefined) throw new UnauthorizedError('a bearer API key is required');
      const presented = createHash('sha256').update(token, 'utf8').digest();
      let match: ApiKey | undefined;
      // No early exit: every key is compared, whichever matches.
      for (const key of keys) {
        if (timingSafeEqual(presented, key.sha256) && match === undefined) match = key;
      }
      if (!match) throw new UnauthorizedError('the API key is not valid');
      return match;
    },
    permit(key, subject, route) {
      if (key.routes && !key.routes.has(route)) throw new KeyNotPermittedError(key.name, route);
      if (key.subjects && !key.subjects.permits(subject))
        throw new KeyNotPermittedError(key.name, subject);
    },
  };
}
