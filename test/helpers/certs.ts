/** Test certificates made with the openssl CLI: a CA, and certificates it signs or self-signed ones. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A key and a certificate for `subjectAltName` signed by the CA in `dir` (`ca.pem`, `ca.key`). */
function signed(dir: string, name: string, commonName: string, subjectAltName?: string): void {
  openssl(
    dir,
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${commonName}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  );
  const ext = subjectAltName ? ['-extfile', `${name}.ext`] : [];
  if (subjectAltName) writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\n`);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    ...ext,
    '-out',
    `${name}.pem`,
  );
}

/** A self-signed certificate `${name}.pem` with its key `${name}.key`. */
function selfSigned(dir: string, name: string, commonName: string, extra: string[] = []): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    ...extra,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
  );
}

/** Writes `ca.pem`, `server.pem`/`server.key` (for `serverAltName`) and `client.pem`/`client.key` into `dir`. */
export function makeTestPki(dir: string, serverAltName: string): void {
  selfSigned(dir, 'ca', 'test-ca');
  signed(dir, 'server', 'server', serverAltName);
  signed(dir, 'client', 'client');
}

/** Writes a self-signed `cert.pem`/`cert.key` for `subjectAltName` into `dir`. */
export function makeSelfSigned(dir: string, subjectAltName: string): void {
  selfSigned(dir, 'cert', 'test', ['-addext', `subjectAltName=${subjectAltName}`]);
}
