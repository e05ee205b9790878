/**
 * Secrets referenced by the config (API key files and variables) are read once, when the config is
 * loaded, and kept only as SHA-256 hashes. A missing file or variable is a config error like any other.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { ApiKeyConfig } from './schema.js';

/** An API key ready for comparison. */
export interface ResolvedApiKey {
  name: string;
  sha256: Buffer;
  allow: readonly string[] | undefined;
  routes: readonly string[] | undefined;
}

/** SHA-256 of a key, as raw bytes. */
export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Reads each key's file or variable and hashes it; throws ConfigError naming the entry. */
export function resolveApiKeys(
  keys: readonly ApiKeyConfig[],
  env: Record<string, string | undefined>,
  source: string,
): ResolvedApiKey[] {
  const problems: string[] = [];
  const resolved = keys.map((key, index) => {
    let sha256: Buffer | undefined;
    if (key.sha256 !== undefined) sha256 = Buffer.from(key.sha256, 'hex');
    if (key.keyFile !== undefined) {
      try {
        const text = readFileSync(key.keyFile, 'utf8').trim();
        if (text === '') problems.push(`auth.apiKeys.${index}.keyFile: '${key.keyFile}' is empty`);
        sha256 = hashKey(text);
      } catch (err) {
        problems.push(
          `auth.apiKeys.${index}.keyFile: cannot read '${key.keyFile}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        );
      }
    }
    if (key.keyEnv !== undefined) {
      const value = env[key.keyEnv];
      if (value === undefined || value.trim() === '') {
        problems.push(
          `auth.apiKeys.${index}.keyEnv: the environment variable ${key.keyEnv} is not set`,
        );
      } else {
        sha256 = hashKey(value.trim());
      }
    }
    return {
      name: key.name,
      sha256: sha256 ?? Buffer.alloc(32),
      allow: key.allow,
      routes: key.routes,
    };
  });
  if (problems.length > 0) throw new ConfigError(source, problems);
  return resolved;
}
