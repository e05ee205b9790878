/**
 * NATS subject grammar, checked by the gateway itself: neither NATS client rejects wildcards,
 * empty tokens or non-ASCII, and the server silently drops empty tokens (an instant 503), so every
 * subject built from a URL is validated here before anything reaches NATS.
 */
import { memoizeByString } from './memo.js';

/** Longest subject the gateway forwards; keeps PUB lines far below the server's 4 KiB control line. */
export const MAX_SUBJECT_BYTES = 256;

/** Why a subject is unacceptable, or `undefined` when it is a valid literal (wildcard-free) subject. */
export function subjectProblem(subject: string): string | undefined {
  if (subject.length === 0) return 'the subject is empty';
  if (subject.length > MAX_SUBJECT_BYTES)
    return `the subject is longer than ${MAX_SUBJECT_BYTES} bytes`;
  let tokenStart = 0;
  for (let i = 0; i < subject.length; i++) {
    const code = subject.charCodeAt(i);
    if (code === 0x2e /* . */) {
      if (i === tokenStart) return 'the subject has an empty token';
      tokenStart = i + 1;
    } else if (code === 0x2a /* * */ || code === 0x3e /* > */) {
      return 'wildcards (* and >) are not allowed in a request subject';
    } else if (code < 0x21 || code > 0x7e) {
      return 'the subject may only contain printable ASCII without spaces';
    }
  }
  if (tokenStart === subject.length) return 'the subject has an empty token';
  return undefined;
}

/** Why a single subject token (one path parameter) is unacceptable, or `undefined`. */
export function tokenProblem(token: string): string | undefined {
  if (token.includes('.')) return 'a parameter may not contain dots';
  return subjectProblem(token);
}

/** Why a subscription-style pattern (may hold `*` and a trailing `>`) is unacceptable, or `undefined`. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'the pattern is empty';
  const tokens = pattern.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (token === '') return 'the pattern has an empty token';
    if (token === '*') continue;
    if (token === '>') {
      if (i !== tokens.length - 1) return "'>' may only be the last token";
      continue;
    }
    if (/[*>]/.test(token)) return "wildcards must be whole tokens ('*' or '>')";
    if (/[^\x21-\x7e]/.test(token))
      return 'the pattern may only contain printable ASCII without spaces';
  }
  return undefined;
}

/**
 * Whether `subject` (a literal) matches `pattern` under NATS wildcard rules: `*` matches one token,
 * a trailing `>` matches one or more.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  return tokensMatch(pattern.split('.'), subject.split('.'));
}

function tokensMatch(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i];
    if (token === '>') return subject.length > i;
    if (i >= subject.length) return false;
    if (token !== '*' && token !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}

/** Whether `subject` lies under the literal `prefix` (what the pattern `prefix.>` matches). */
export function isUnderPrefix(prefix: string, subject: string): boolean {
  return (
    subject.length > prefix.length + 1 &&
    subject.startsWith(prefix) &&
    subject.charCodeAt(prefix.length) === 0x2e
  );
}

/** Compiled allow/deny lists: deny wins, then the subject must match some allow pattern. */
export class SubjectPolicy {
  // Patterns are split once here; a request splits its subject once, not once per pattern.
  readonly #allow: ReadonlyArray<readonly string[]>;
  readonly #deny: ReadonlyArray<readonly string[]>;

  constructor(allow: readonly string[], deny: readonly string[]) {
    this.#allow = allow.map((p) => p.split('.'));
    this.#deny = deny.map((p) => p.split('.'));
  }

  /** Whether a caller may send a request to `subject`; callers reuse subjects, so each is decided once. */
  readonly permits = memoizeByString((subject: string): boolean => this.#decide(subject));

  #decide(subject: string): boolean {
    const tokens = subject.split('.');
    for (const pattern of this.#deny) if (tokensMatch(pattern, tokens)) return false;
    for (const pattern of this.#allow) if (tokensMatch(pattern, tokens)) return true;
    return false;
  }
}
