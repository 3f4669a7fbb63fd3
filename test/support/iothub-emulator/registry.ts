import { X509Certificate, randomBytes } from 'node:crypto';
import { type Identity, formatIdentity, parseIdentity } from '../../../domain/identity/identity.js';
import { type TwinDocument, emptyTwin } from '../../../domain/twins/twin-document.js';
import { NodeSasSigner } from '../../../adapters/crypto/node-crypto.js';
import { checkSasResource, isSasTokenExpired, parseSasToken, stringToSign } from '../../../domain/identity/sas-token.js';

export interface RegisteredIdentity {
  readonly identity: Identity;
  primaryKey: string;
  secondaryKey: string;
  status: 'enabled' | 'disabled';
  /** Devices: an IoT Edge device (its modules and children form its device scope). */
  edge: boolean;
  /** Devices: the parent edge device (a leaf device in that edge device's scope). */
  parent?: string;
  generationId: string;
  twin: TwinDocument;
  /** X.509: `selfSigned` with thumbprints (hex, SHA-1 or SHA-256), or `certificateAuthority` (chain to `Registry.trustedCaPems`, CN = device id). */
  x509?: { type: 'selfSigned'; thumbprints: string[] } | { type: 'certificateAuthority' };
}

export type TokenCheck = { ok: true; identity: Identity; expiresAtMs: number } | { ok: false; status: number; description: string };

const signer = new NodeSasSigner();

/** The emulator's identity registry: devices and modules with keys, twins, edge scope. */
export class Registry {
  private readonly entries = new Map<string, RegisteredIdentity>();
  /** CA certificates (PEM) uploaded and verified for CA-signed devices. */
  readonly trustedCaPems: string[] = [];

  constructor(readonly hostName: string) {}

  /** Adds (or returns) `dev` or `dev/mod`. Keys are random unless given. */
  add(id: string, options: { edge?: boolean; parent?: string; primaryKey?: string } = {}): RegisteredIdentity {
    const identity = parseIdentity(id);
    const key = formatIdentity(identity);
    const existing = this.entries.get(key);
    if (existing !== undefined) return existing;
    const entry: RegisteredIdentity = {
      identity,
      primaryKey: options.primaryKey ?? randomBytes(32).toString('base64'),
      secondaryKey: randomBytes(32).toString('base64'),
      status: 'enabled',
      edge: options.edge ?? false,
      ...(options.parent !== undefined ? { parent: options.parent } : {}),
      generationId: randomBytes(8).toString('hex'),
      twin: emptyTwin(),
    };
    this.entries.set(key, entry);
    return entry;
  }

  get(identity: Identity): RegisteredIdentity | undefined {
    return this.entries.get(formatIdentity(identity));
  }

  all(): RegisteredIdentity[] {
    return [...this.entries.values()];
  }

  /** The device scope of edge device `edgeId`: its modules and its child devices. */
  scopeOf(edgeId: string): RegisteredIdentity[] {
    return this.all().filter((e) => (e.identity.kind === 'module' ? e.identity.deviceId === edgeId : e.parent === edgeId));
  }

  /**
   * The edge devices that may act for `identity`, nearest first: its device for a module, its parent
   * edge device for a leaf, and then (nested edge) that device's parent edge devices up the hierarchy.
   */
  actorsOf(identity: Identity): RegisteredIdentity[] {
    const actors: RegisteredIdentity[] = [];
    let deviceId = identity.kind === 'module' ? identity.deviceId : this.get(identity)?.parent;
    while (deviceId !== undefined && actors.length < 8) {
      const actor = this.get({ kind: 'device', deviceId });
      if (actor === undefined || (!actor.edge && !(identity.kind === 'module' && actors.length === 0))) break;
      if (actors.includes(actor)) break;
      actors.push(actor);
      deviceId = actor.parent;
    }
    return actors;
  }

  /** Whether `deviceId` is below edge device `edgeId` in the hierarchy (its child, grandchild, ...). */
  isDescendant(deviceId: string, edgeId: string): boolean {
    return this.actorsOf({ kind: 'device', deviceId }).some((a) => a.identity.deviceId === edgeId);
  }

  /**
   * IoT Hub's X.509 check (wave2-facts.md §7), written apart from the hub's own: a self-signed
   * device's SHA-1 or SHA-256 thumbprint, or a CA-signed device's chain to an uploaded CA with
   * CN = device id; the certificate valid now.
   */
  checkCertificate(claim: Identity, chain: readonly Uint8Array[], now: number): TokenCheck {
    const entry = this.get(claim);
    if (entry === undefined) return { ok: false, status: 404, description: `${formatIdentity(claim)} is not registered` };
    if (entry.status === 'disabled') return { ok: false, status: 401, description: `${formatIdentity(claim)} is disabled` };
    if (entry.x509 === undefined) return { ok: false, status: 401, description: `${formatIdentity(claim)} is not an X.509 device` };
    const certs = chain.map((der) => new X509Certificate(der));
    const leaf = certs[0];
    if (leaf === undefined) return { ok: false, status: 401, description: 'no client certificate' };
    const notAfter = Date.parse(leaf.validTo);
    if (now < Date.parse(leaf.validFrom) || now > notAfter) return { ok: false, status: 401, description: 'certificate not valid now' };
    if (entry.x509.type === 'selfSigned') {
      const prints = [leaf.fingerprint, leaf.fingerprint256].map((f) => f.replace(/:/g, '').toUpperCase());
      if (!entry.x509.thumbprints.some((t) => prints.includes(t.toUpperCase()))) return { ok: false, status: 401, description: 'thumbprint does not match' };
      return { ok: true, identity: claim, expiresAtMs: notAfter };
    }
    const commonName = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject)?.[1];
    if (commonName !== claim.deviceId) return { ok: false, status: 401, description: 'CN does not match the device id' };
    const cas = this.trustedCaPems.map((pem) => new X509Certificate(pem));
    for (let current: X509Certificate | undefined = leaf, depth = 0; current !== undefined && depth < 5; depth++) {
      const cert: X509Certificate = current;
      if (cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) return { ok: true, identity: claim, expiresAtMs: notAfter };
      current = certs.find((c) => c !== cert && cert.checkIssued(c) && cert.verify(c.publicKey));
    }
    return { ok: false, status: 401, description: 'chain does not end at a verified CA' };
  }

  /**
   * IoT Hub's SAS check: `sr` names this hub and the claimed identity, `se` is in the future, and
   * the signature verifies with the identity's key, or its device's key (modules), or, acting on
   * its behalf, the key of the edge device whose scope it is in, or of that device's parent edge
   * devices (how an edge hub connects for its clients, and a parent for its nested children).
   */
  check(claim: Identity, tokenText: string, now: number): TokenCheck {
    let token;
    try {
      token = parseSasToken(tokenText);
    } catch (error) {
      return { ok: false, status: 401, description: `malformed SAS token: ${(error as Error).message}` };
    }
    const resource = checkSasResource(token, claim, { acceptedHostNames: [this.hostName] });
    if (!resource.ok) return { ok: false, status: 401, description: `token audience does not match: ${resource.reason}` };
    if (isSasTokenExpired(token, now)) return { ok: false, status: 401, description: 'token expired' };
    const entry = this.get(claim);
    if (entry === undefined) return { ok: false, status: 404, description: `${formatIdentity(claim)} is not registered` };
    if (entry.status === 'disabled') return { ok: false, status: 401, description: `${formatIdentity(claim)} is disabled` };
    const signed = stringToSign(token);
    const candidates = [entry, ...this.actorsOf(claim)];
    for (const c of candidates) {
      for (const key of [c.primaryKey, c.secondaryKey]) {
        if (signer.timingSafeEqual(signer.hmacSha256Base64(key, signed), token.signature)) return { ok: true, identity: claim, expiresAtMs: token.expirySeconds * 1000 };
      }
    }
    return { ok: false, status: 401, description: 'signature does not verify' };
  }
}
