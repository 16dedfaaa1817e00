// @peculiar/x509 resolves its services through tsyringe, which needs the reflect polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';

/**
 * The run's certificate authority: generated in memory when a run starts, gone when it ends. Its private key is a
 * non-extractable WebCrypto key, so it cannot be written anywhere even by mistake. Leaf certificates are made on
 * first use per host name and cached for the run, together with their TLS secure context.
 */
export interface RunCa {
  /** the CA certificate, for the child's trust bundle */
  certPem: string;
  /** a secure context presenting a leaf for hostname (a DNS name or an IP address); shared by concurrent callers */
  contextFor(hostname: string): Promise<tls.SecureContext>;
  /** the leaf certificate (PEM) currently served for hostname */
  leafFor(hostname: string): Promise<Leaf>;
}

export interface Leaf {
  certPem: string;
  notAfter: Date;
  context: tls.SecureContext;
}

const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
// A run lasts minutes to hours; a day is enough and keeps a leaked CA certificate short-lived.
const CA_VALIDITY_MS = 24 * 60 * 60 * 1000;
// Clocks of the child and of the proxy are the same machine's, but a minute of slack absorbs rounding in clients.
const BACKDATE_MS = 60 * 1000;
// Like mockttp: a leaf is replaced when less than this is left, so no client ever sees one expire mid-run.
const LEAF_VALIDITY_MS = 24 * 60 * 60 * 1000;
const LEAF_REFRESH_BEFORE_MS = 60 * 60 * 1000;
// Host names come from clients; a bounded cache keeps a client that CONNECTs to endless names from growing memory.
const MAX_CACHED_LEAVES = 1000;

x509.cryptoProvider.set(webcrypto);

function toPem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/.{64}(?=.)/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // a positive INTEGER, as RFC 5280 requires
  return Buffer.from(bytes).toString('hex');
}

/** A host name as it may appear in a SAN: lower-case, no brackets, no trailing dot. */
function sanName(hostname: string): x509.JsonGeneralName {
  const bare = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  return net.isIP(bare) === 0 ? { type: 'dns', value: bare } : { type: 'ip', value: bare };
}

export async function createRunCa(): Promise<RunCa> {
  const now = Date.now();
  // extractable=false: the CA key can sign, and nothing else, for as long as this process lives.
  const caKeys = await webcrypto.subtle.generateKey(EC_ALGORITHM, false, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=onecli run CA ${new Date(now).toISOString()}, O=onecli`,
    keys: caKeys,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + CA_VALIDITY_MS),
    signingAlgorithm: EC_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const caAuthorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey);
  const caNotAfter = ca.notAfter.getTime();

  // One key pair serves every leaf of the run (as mockttp does): a leaf then costs one signature, not a key generation.
  // The leaf key must be exportable because OpenSSL needs it as PEM; it stays in this process's memory.
  const leafKeys = await webcrypto.subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify']);
  const leafKeyPem = toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey));
  // @peculiar/x509 ends PEM without a newline; bundles are concatenations, so every PEM here ends with one.
  const certPem = `${ca.toString('pem').trimEnd()}\n`;

  const cache = new Map<string, Promise<Leaf>>();

  async function makeLeaf(name: x509.JsonGeneralName): Promise<Leaf> {
    const issued = Date.now();
    const notAfter = new Date(Math.min(issued + LEAF_VALIDITY_MS, caNotAfter));
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: name.type === 'dns' ? `CN=${name.value}` : 'CN=onecli leaf',
      issuer: ca.subject,
      notBefore: new Date(issued - BACKDATE_MS),
      notAfter,
      signingAlgorithm: EC_ALGORITHM,
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([name]),
        caAuthorityKeyId,
      ],
    });
    const leafPem = `${leaf.toString('pem').trimEnd()}\n`;
    // The chain (leaf + CA) is sent so clients that only trust the bundle's CA by subject still build the path.
    const context = tls.createSecureContext({ key: leafKeyPem, cert: `${leafPem}\n${certPem}`, minVersion: 'TLSv1.2' });
    return { certPem: leafPem, notAfter, context };
  }

  function leafFor(hostname: string): Promise<Leaf> {
    const name = sanName(hostname);
    const key = `${name.type}:${name.value}`;
    const cached = cache.get(key);
    if (cached !== undefined) {
      return cached.then((leaf) => {
        const expires = leaf.notAfter.getTime();
        // A leaf already ending with the CA cannot be bettered by a new one; runs do not outlive their CA.
        if (expires - Date.now() > LEAF_REFRESH_BEFORE_MS || expires >= caNotAfter) return leaf;
        if (cache.get(key) === cached) cache.delete(key);
        return leafFor(hostname);
      });
    }
    if (cache.size >= MAX_CACHED_LEAVES) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    // The promise is cached, not the result: concurrent first requests for a host share one generation.
    const pending = makeLeaf(name);
    cache.set(key, pending);
    pending.catch(() => {
      if (cache.get(key) === pending) cache.delete(key);
    });
    return pending;
  }

  return {
    certPem,
    leafFor,
    contextFor: async (hostname) => (await leafFor(hostname)).context,
  };
}
