/**
 * `GET /docs`: Swagger UI over the live `/openapi.json`, with "try it" sending real requests
 * through the gateway. Every script, style and image comes from the installed `swagger-ui-dist`
 * package, and a Content-Security-Policy keeps the page to the gateway's own origin: it works on
 * an air-gapped machine and talks to nothing else.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RouteNotFoundError } from '../errors.js';
import type { RouteEntry } from './route-table.js';
import { send } from './send.js';

/** The package's files the page uses, by the name they are served under, with their types. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};
const INIT_SCRIPT = 'init.js';

/** Every path the console serves (config/route-checks.ts reserves each of them). */
export const DOCS_PATHS = [
  '/',
  '/docs',
  ...[...Object.keys(ASSETS), INIT_SCRIPT].map((name) => `/docs/${name}`),
];

// Relative links, so the page also works behind a proxy that mounts the gateway under a prefix.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nats-http-gateway: API console</title>
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="console"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

// Swagger UI's options: no call to its online validator, "try it" open, durations shown.
const INIT = `window.ui = SwaggerUIBundle({
  url: 'openapi.json',
  dom_id: '#console',
  validatorUrl: null,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  deepLinking: true,
  showExtensions: true,
});
`;

/** Options for {@link docsRoutes}. */
export interface DocsOptions {
  /** Where "try it" sends requests when that is another origin (the main listener, seen from the admin one). */
  tryItOrigin: () => string | undefined;
}

/** The console's rows of the route table: the page, its files, and `/` pointing at it. */
export function docsRoutes({ tryItOrigin }: DocsOptions): RouteEntry[] {
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Promise<Buffer>>();
  const load = (name: string): Promise<Buffer> => {
    let file = cache.get(name);
    if (!file) {
      file = readFile(join(dist, name));
      cache.set(name, file);
      // A failed read is tried again next time rather than remembered.
      file.catch(() => cache.delete(name));
    }
    return file;
  };
  const policy = (): string => {
    const other = tryItOrigin();
    return [
      "default-src 'none'",
      "script-src 'self'",
      // Swagger UI sets style attributes from script.
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "font-src 'self' data:",
      `connect-src 'self'${other ? ` ${other}` : ''}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
  };

  return [
    {
      template: '/',
      pattern: '/',
      methods: ['GET'],
      kind: 'gateway',
      handle(exchange) {
        send(exchange, 302, [['Location', 'docs']], null);
      },
    },
    {
      template: '/docs',
      pattern: '/docs',
      methods: ['GET'],
      kind: 'gateway',
      handle(exchange) {
        send(
          exchange,
          200,
          [
            ['Content-Type', 'text/html; charset=utf-8'],
            ['Content-Security-Policy', policy()],
            ['X-Content-Type-Options', 'nosniff'],
            ['Cache-Control', 'no-cache'],
          ],
          PAGE,
        );
      },
    },
    {
      template: '/docs/{file}',
      pattern: '/docs/:file',
      methods: ['GET'],
      kind: 'gateway',
      async handle(exchange, { file = '' }) {
        if (file === INIT_SCRIPT) {
          send(exchange, 200, [['Content-Type', 'text/javascript; charset=utf-8']], INIT);
          return;
        }
        const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
        if (type === undefined) throw new RouteNotFoundError(exchange.target.path);
        send(
          exchange,
          200,
          [
            ['Content-Type', type],
            ['X-Content-Type-Options', 'nosniff'],
            // The file changes only with the package, i.e. with a new gateway build.
            ['Cache-Control', 'public, max-age=3600'],
          ],
          await load(file),
        );
      },
    },
  ];
}
