// The Go peer (targets/go-gateway/main.go): built for each run into the run's work directory, with
// Debian's Go and nats.go in GOPATH mode, so nothing is fetched and no binary is committed.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const SOURCE_DIR = join(import.meta.dirname, '../targets/go-gateway');
/** Where golang-github-nats-io-go-nats-dev puts nats.go and its dependencies. */
const DEBIAN_GOPATH = '/usr/share/gocode';
const INSTALL_HINT =
  'scripts/bench-deps.sh installs golang-go and golang-github-nats-io-go-nats-dev';

/**
 * Builds the Go peer into `workDir`. Resolves with `{ binary }`, or `{ skipped }` saying why it
 * cannot be built here (no Go, no nats.go), so the run goes on without it.
 */
export function buildGoGateway(workDir) {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    return { skipped: `Go is not installed (${INSTALL_HINT})` };
  }
  if (!existsSync(join(DEBIAN_GOPATH, 'src/github.com/nats-io/nats.go'))) {
    return { skipped: `nats.go is not in ${DEBIAN_GOPATH} (${INSTALL_HINT})` };
  }
  const binary = join(workDir, 'go-gateway');
  const env = { ...process.env };
  // GOPATH mode against Debian's packages only: no module proxy, no toolchain download, no flags
  // from the caller's environment (a -mod=vendor there would break a GOPATH build).
  delete env.GOFLAGS;
  Object.assign(env, {
    GO111MODULE: 'off',
    GOPATH: DEBIAN_GOPATH,
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    GOCACHE: join(workDir, 'go-cache'),
  });
  try {
    execFileSync('go', ['build', '-o', binary, '.'], {
      cwd: SOURCE_DIR,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    return { skipped: `go build failed: ${String(err.stderr ?? err.message).trim()}` };
  }
  return { binary };
}

/**
 * Starts the built Go peer against `natsUrl` and resolves with its child process and port once it
 * listens (it prints the port on its first line).
 */
export function startGoGateway(binary, natsUrl) {
  const child = spawn(binary, [], {
    env: { ...process.env, NATS_URL: natsUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(Number(line)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`go-gateway exited (${code})`)));
  });
  return { child, port };
}
