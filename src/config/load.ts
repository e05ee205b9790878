/**
 * Reads the YAML file, overlays the environment, validates once and freezes the result, so nothing
 * downstream can see a half-valid or mutated config.
 */
import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { ConfigSchema } from './schema.js';
import type { Config } from './schema.js';
import { resolveApiKeys } from './secrets.js';
import type { ResolvedApiKey } from './secrets.js';

/** Environment variables the gateway reads; anything else in the environment is ignored. */
export interface ConfigEnv {
  [name: string]: string | undefined;
  NATS_URL?: string | undefined;
  PORT?: string | undefined;
  HOST?: string | undefined;
  GATEWAY_WORKERS?: string | undefined;
}

/** Loads, validates and freezes the config file at `path`, with `env` overriding the file. */
export async function loadConfig(path: string, env: ConfigEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason =
      (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(cause);
    throw new ConfigError(path, [`cannot read the file: ${reason}`]);
  }
  // A file caught mid-rewrite is often empty; defaults for everything are never what it meant.
  if (text.trim() === '') throw new ConfigError(path, ['the file is empty']);
  return parseConfig(text, path, env);
}

/** Validates YAML text as a config; `source` names it in error messages. */
export function parseConfig(text: string, source: string, env: ConfigEnv = {}): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0] ?? e.message}`),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, ['the file must hold a mapping of sections (http, nats, …)']);
  }
  const interpolated = interpolateEnv(raw, env, [], source) as Record<string, unknown>;
  const input = applyEnv(interpolated, env, source);
  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((issue) => describeIssue(issue, doc, lineCounter)),
    );
  }
  const config = result.data;
  const unreadable = unreadableFiles([
    ['nats.nkeySeedFile', config.nats.nkeySeedFile],
    ['nats.credsFile', config.nats.credsFile],
    ['nats.tls.caFile', config.nats.tls?.caFile],
    ['nats.tls.certFile', config.nats.tls?.certFile],
    ['nats.tls.keyFile', config.nats.tls?.keyFile],
    ['http.tls.certFile', config.http.tls?.certFile],
    ['http.tls.keyFile', config.http.tls?.keyFile],
  ]);
  if (unreadable.length > 0) throw new ConfigError(source, unreadable);
  // Key files and variables are read now, so `validate` and a reload catch a missing secret too.
  const keys = resolveApiKeys(config.auth.apiKeys, env, source);
  config.auth.apiKeys = config.auth.apiKeys.map((key, i) => ({
    ...key,
    sha256: (keys[i] as ResolvedApiKey).sha256.toString('hex'),
  }));
  return deepFreeze(config);
}

function applyEnv(
  raw: Record<string, unknown>,
  env: ConfigEnv,
  source: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  const section = (key: string): Record<string, unknown> => {
    const current = out[key];
    const copy = typeof current === 'object' && current !== null ? { ...current } : {};
    out[key] = copy;
    return copy;
  };
  if (env.NATS_URL !== undefined && env.NATS_URL.trim() !== '') {
    section('nats').servers = env.NATS_URL.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  if (env.PORT !== undefined && env.PORT.trim() !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port))
      throw new ConfigError(source, [`PORT: '${env.PORT}' is not a port number`]);
    section('http').port = port;
  }
  if (env.HOST !== undefined && env.HOST.trim() !== '') section('http').host = env.HOST.trim();
  if (env.GATEWAY_WORKERS !== undefined && env.GATEWAY_WORKERS.trim() !== '') {
    const workers = Number(env.GATEWAY_WORKERS);
    if (!Number.isInteger(workers)) {
      throw new ConfigError(source, [
        `GATEWAY_WORKERS: '${env.GATEWAY_WORKERS}' is not a whole number`,
      ]);
    }
    section('http').workers = workers;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter): string {
  const path = issue.path.map(String);
  const where = path.length > 0 ? path.join('.') : '(top level)';
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `'${k}'`).join(', ');
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}`;
    const first = issue.keys[0];
    const line = first === undefined ? undefined : lineOf(doc, lineCounter, [...path, first]);
    return `${where}: ${message}${line ? ` (line ${line})` : ''}`;
  }
  const line = lineOf(doc, lineCounter, path);
  return `${where}: ${message}${line ? ` (line ${line})` : ''}`;
}

/** The 1-based line of the YAML node at `path`, when the file has one there. */
function lineOf(doc: Document, lineCounter: LineCounter, path: string[]): number | undefined {
  let node: unknown = doc.contents;
  let found: unknown;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value) === key);
      if (!pair) break;
      found = pair.key;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(key)];
      found = node;
    } else {
      break;
    }
  }
  const range = (found as { range?: [number, number, number] } | undefined)?.range;
  return range ? lineCounter.linePos(range[0]).line : undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Replaces `${NAME}` in every string value with the environment variable NAME, so secrets can stay
 * out of the file (`pass: ${NATS_PASS}`); `$${` stands for a literal `${`. An unset variable is an
 * error naming the key, never an empty string.
 */
function interpolateEnv(value: unknown, env: ConfigEnv, path: string[], source: string): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string) => {
      if (match.startsWith('$$')) return match.slice(1);
      const found = env[name];
      if (found === undefined) {
        throw new ConfigError(source, [
          `${path.join('.') || '(top level)'}: the environment variable ${name} is not set`,
        ]);
      }
      return found;
    });
  }
  if (Array.isArray(value))
    return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)], source));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k], source)]),
    );
  }
  return value;
}

/** A message for each configured file the gateway cannot read, naming its key. */
function unreadableFiles(files: Array<[key: string, path: string | undefined]>): string[] {
  const problems: string[] = [];
  for (const [key, path] of files) {
    if (path === undefined) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (err) {
      problems.push(
        `${key}: cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
  }
  return problems;
}
