import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createRunCa } from '../../../src/proxy/ca.js';

/** Serves `hostname`'s leaf on loopback; a client that trusts only the run CA connects expecting `servername`. */
async function handshake(contextFor: (name: string) => Promise<tls.SecureContext>, hostname: string, caPem: string, servername?: string): Promise<tls.PeerCertificate> {
  const context = await contextFor(hostname);
  // As the proxy does: a plain TCP server whose sockets are wrapped with the leaf's secure context.
  const server = net.createServer((raw) => {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    socket.on('error', () => raw.destroy());
    socket.once('secure', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const name = servername ?? hostname;
      const ip = net.isIP(name) !== 0;
      const socket = tls.connect({ host: ip ? name : '127.0.0.1', port, ca: caPem, ...(ip ? {} : { servername: name }) }, () => {
        resolve(socket.getPeerCertificate());
        socket.destroy();
      });
      socket.once('error', reject);
    });
  } finally {
    server.close();
  }
}

describe('the run CA', () => {
  it('is a short-lived ECDSA P-256 CA allowed to sign certificates', async () => {
    const ca = await createRunCa();
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const validFrom = Date.parse(cert.validFrom);
    const validTo = Date.parse(cert.validTo);
    expect(validFrom).toBeLessThanOrEqual(Date.now());
    expect(validTo - validFrom).toBeLessThanOrEqual(25 * 60 * 60 * 1000);
    expect(ca.certPem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    expect(ca.certPem).not.toContain('PRIVATE KEY');
  });

  it('issues leaves that a client trusting only the run CA accepts, for names and IP addresses', async () => {
    const ca = await createRunCa();
    const named = await handshake((name) => ca.contextFor(name), 'api.example.test', ca.certPem);
    expect(named.subjectaltname).toBe('DNS:api.example.test');
    const ip = await handshake((name) => ca.contextFor(name), '127.0.0.1', ca.certPem);
    expect(ip.subjectaltname).toBe('IP Address:127.0.0.1');
    const leaf = new X509Certificate((await ca.leafFor('api.example.test')).certPem);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
  });

  it('refuses to pass a leaf off for another host', async () => {
    const ca = await createRunCa();
    await expect(handshake((name) => ca.contextFor(name), 'api.example.test', ca.certPem, 'other.example.test')).rejects.toThrow(/altnames/);
  });

  it('makes one leaf per host, shared by concurrent first requests', async () => {
    const ca = await createRunCa();
    const [a, b] = await Promise.all([ca.leafFor('api.example.test'), ca.leafFor('API.example.test.')]);
    expect(a).toBe(b);
    expect(await ca.leafFor('api.example.test')).toBe(a);
    expect(await ca.leafFor('other.example.test')).not.toBe(a);
  });

  it('gives each run its own CA', async () => {
    const [one, two] = await Promise.all([createRunCa(), createRunCa()]);
    expect(one.certPem).not.toBe(two.certPem);
    await expect(handshake((name) => one.contextFor(name), 'api.example.test', two.certPem)).rejects.toThrow();
  });
});
