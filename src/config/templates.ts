/**
 * Route templates: Hono-style path templates (`/orders/:region/:id`, `:id{[0-9]+}`) and subject
 * templates (`orders.{region}.upsert.{id}`). Parsed once at start-up; rendering is string joins.
 */
import { subjectProblem } from '../subject.js';

const PLACEHOLDER = /\{([^{}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL_SEGMENT = /^[\w!$&'()+,;=@~.-]*$/;

/** A parsed path template. */
export interface PathTemplate {
  /** As written in the config (what Hono routes on). */
  source: string;
  /** Parameter names in order. */
  params: string[];
  /** Regex constraints by parameter, without braces (`[0-9]+`). */
  patterns: Record<string, string>;
  /**
   * What the router matches: the source with each regex grouped (`:id{(?:[0-9]+|latest)}`). Hono's
   * trie router anchors a constraint as `^regex$`, so an ungrouped top-level `|` would match a
   * prefix or suffix of the segment.
   */
  routerPattern: string;
  /** The same shape with every parameter unnamed (`/orders/:/:`): equal keys are the same route. */
  shapeKey: string;
  /** OpenAPI form: `/orders/{region}/{id}`. */
  openApiPath: string;
}

/** Why a path template is unusable, or the parsed template. */
export function parsePathTemplate(source: string): PathTemplate | string {
  if (!source.startsWith('/')) return "must start with '/'";
  if (/[?#\s]/.test(source)) return 'may not contain ?, # or whitespace';
  if (source.includes('*'))
    return "wildcards ('*') are not supported; name each segment with :param";
  const params: string[] = [];
  // No prototype: a parameter named `constructor` or `toString` has no pattern unless given one.
  const patterns = Object.create(null) as Record<string, string>;
  for (const segment of source.split('/').slice(1)) {
    if (!segment.startsWith(':')) {
      if (segment.includes(':')) return `segment '${segment}': a parameter must be a whole segment`;
      // Requests are routed on their normalised path (http/target.ts): a literal that
      // normalisation would change could never match.
      if (!LITERAL_SEGMENT.test(segment) || segment === '.' || segment === '..') {
        return `segment '${segment}': write literal segments as plain path characters (letters, digits, - . _ ~ ! $ & ' ( ) + , ; = @), without %-escapes or dot segments`;
      }
      continue;
    }
    const match = /^:([A-Za-z_][A-Za-z0-9_]*)(?:\{(.+)\})?$/.exec(segment);
    if (!match)
      return `segment '${segment}': a parameter is ':name' or ':name{regex}', a whole segment`;
    const [, name, pattern] = match as unknown as [string, string, string | undefined];
    if (params.includes(name)) return `parameter ':${name}' appears twice`;
    if (pattern !== undefined) {
      try {
        // Grouped as the router embeds it: `a\` must fail here, not when it compiles every route.
        new RegExp(`^(?:${pattern})$`);
      } catch {
        return `parameter ':${name}' has an invalid regex '${pattern}'`;
      }
      patterns[name] = pattern;
    }
    params.push(name);
  }
  return {
    source,
    params,
    patterns,
    routerPattern: segmentsOf(source, (name) =>
      patterns[name] !== undefined ? `:${name}{(?:${patterns[name]})}` : `:${name}`,
    ),
    // From whole segments: a regex may hold braces of its own (`:id{[0-9]{4}}`).
    shapeKey: segmentsOf(source, () => ':'),
    openApiPath: segmentsOf(source, (name) => `{${name}}`),
  };
}

/** The template with each parameter segment (`:name` or `:name{regex}`) replaced. */
function segmentsOf(source: string, parameter: (name: string) => string): string {
  return source
    .split('/')
    .map((segment) =>
      segment.startsWith(':')
        ? parameter(/^:([A-Za-z_][A-Za-z0-9_]*)/.exec(segment)?.[1] ?? '')
        : segment,
    )
    .join('/');
}

/** A parsed subject template: literal parts with parameter names between them. */
export interface SubjectTemplate {
  source: string;
  /** `parts[0] + values[names[0]] + parts[1] + …`; one more part than names. */
  parts: string[];
  names: string[];
}

/**
 * Parses a subject template against the path's parameters. Returns why it is unusable: an unknown
 * placeholder, or a shape that could never be a valid subject whatever the parameters hold.
 */
export function parseSubjectTemplate(
  source: string,
  pathParams: readonly string[],
): SubjectTemplate | string {
  const parts: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!NAME.test(name)) return `placeholder '{${name}}' is not a parameter name`;
    if (!pathParams.includes(name)) {
      const known = pathParams.length > 0 ? pathParams.map((p) => `:${p}`).join(', ') : 'none';
      return `placeholder '{${name}}' has no matching path parameter (the path has ${known})`;
    }
    parts.push(source.slice(last, match.index));
    names.push(name);
    last = match.index + match[0].length;
  }
  parts.push(source.slice(last));
  if (/[{}]/.test(parts.join(''))) return 'has an unbalanced { or }';
  // Every parameter is one valid token, so a sample token stands for all of them.
  const problem = subjectProblem(renderSubject({ source, parts, names }, () => 'x'));
  if (problem) return `can never be a valid subject: ${problem.replace(/^the subject /, '')}`;
  return { source, parts, names };
}

/** Fills a subject template with parameter values. */
export function renderSubject(template: SubjectTemplate, value: (name: string) => string): string {
  let out = template.parts[0] ?? '';
  for (let i = 0; i < template.names.length; i++) {
    out += value(template.names[i] as string) + (template.parts[i + 1] ?? '');
  }
  return out;
}
