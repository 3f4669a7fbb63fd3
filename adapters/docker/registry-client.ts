import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { RegistryCredential } from '../../domain/modules/module-spec.js';

/** Manifest media types asked for (OCI and Docker, images and indexes). */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
] as const;

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** A registry answered with an error status (or not at all). */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface FetchedManifest {
  /** `sha256:<hex>` of the manifest bytes. */
  digest: string;
  mediaType: string;
  body: Buffer;
}

export interface RegistryClientOptions {
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Scheme per registry host; default: `http` for loopback hosts (as Docker treats 127.0.0.0/8 as insecure), else `https`. */
  scheme?: (host: string) => 'http' | 'https';
}

/** Loopback registries speak plain HTTP (Docker's default insecure range); all others HTTPS. */
export function defaultRegistryScheme(host: string): 'http' | 'https' {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  if (name === 'localhost' || name === '::1') return 'http';
  return isIP(name) === 4 && name.startsWith('127.') ? 'http' : 'https';
}

/** `Bearer realm="...",service="...",scope="..."` / `Basic realm="..."` */
function parseChallenge(header: string | null): { scheme: string; params: Record<string, string> } | undefined {
  if (header === null) return undefined;
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const match of header.slice(space + 1).matchAll(/([a-zA-Z]+)="([^"]*)"/g)) params[(match[1] as string).toLowerCase()] = match[2] as string;
  return { scheme, params };
}

function basic(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * A small Registry HTTP API v2 client for what image verification reads: manifests (by tag or
 * digest) and blobs, with the module's registry credential. It answers the registry's
 * `WWW-Authenticate` challenge: `Basic` (htpasswd registries) or `Bearer` (a token from the
 * realm, fetched with the credential, for `repository:<repo>:pull`). Tokens and passwords are
 * never logged or put in errors.
 */
export class RegistryClient {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly options: RegistryClientOptions = {}) {}

  /** Base URL of a registry host as written in image names (`docker.io` means Docker Hub's API host). */
  baseUrl(registry: string): string {
    const host = DOCKER_HUB.has(registry.toLowerCase()) ? 'registry-1.docker.io' : registry;
    return `${(this.options.scheme ?? defaultRegistryScheme)(host)}://${host}`;
  }

  /** The manifest of `reference` (a tag or a digest); `undefined` when the registry has none (404). */
  async manifest(registry: string, repository: string, reference: string, credential: RegistryCredential | undefined): Promise<FetchedManifest | undefined> {
    const response = await this.get(registry, repository, `/v2/${repository}/manifests/${reference}`, { accept: MANIFEST_MEDIA_TYPES.join(', ') }, credential);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    const body = await this.expectOk(response, `manifest ${repository}:${reference}`);
    const digest = sha256Digest(body);
    if (reference.startsWith('sha256:') && digest !== reference) throw new RegistryError(`manifest ${repository}@${reference} has the digest ${digest}: the registry sent other content`);
    return { digest, mediaType: response.headers.get('content-type') ?? '', body };
  }

  /** A blob by digest, checked against it. */
  async blob(registry: string, repository: string, digest: string, credential: RegistryCredential | undefined): Promise<Buffer> {
    const response = await this.get(registry, repository, `/v2/${repository}/blobs/${digest}`, {}, credential);
    const body = await this.expectOk(response, `blob ${digest} of ${repository}`);
    const actual = sha256Digest(body);
    if (actual !== digest) throw new RegistryError(`blob ${digest} of ${repository} has the digest ${actual}: the registry sent other content`);
    return body;
  }

  private async expectOk(response: Response, what: string): Promise<Buffer> {
    if (!response.ok) {
      await response.body?.cancel();
      throw new RegistryError(`the registry answered ${response.status} ${response.statusText} for ${what}`, response.status);
    }
    return Buffer.from(await response.arrayBuffer());
  }

  private async fetch(url: string, headers: Record<string, string>): Promise<Response> {
    try {
      // Blobs may redirect to storage (S3, CDN): fetch follows and drops Authorization across origins.
      return await fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new RegistryError(`cannot reach ${new URL(url).host}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
  }

  private async get(registry: string, repository: string, path: string, headers: Record<string, string>, credential: RegistryCredential | undefined): Promise<Response> {
    const url = `${this.baseUrl(registry)}${path}`;
    const scope = `repository:${repository}:pull`;
    const cacheKey = `${registry}|${scope}|${credential?.username ?? ''}`;
    const cached = this.tokens.get(cacheKey);
    const first = await this.fetch(url, cached === undefined ? headers : { ...headers, authorization: cached });
    if (first.status !== 401) return first;
    const challenge = parseChallenge(first.headers.get('www-authenticate'));
    await first.body?.cancel();
    let authorization: string;
    if (challenge?.scheme === 'basic') {
      if (credential === undefined) throw new RegistryError(`${registry} requires a login and no registry credential of the deployment matches it`, 401);
      authorization = basic(credential);
    } else if (challenge?.scheme === 'bearer' && challenge.params['realm'] !== undefined) {
      authorization = `Bearer ${await this.token(challenge.params, scope, credential)}`;
    } else {
      throw new RegistryError(`${registry} answered 401 without a usable WWW-Authenticate challenge`, 401);
    }
    this.tokens.set(cacheKey, authorization);
    const second = await this.fetch(url, { ...headers, authorization });
    if (second.status === 401) {
      this.tokens.delete(cacheKey);
      await second.body?.cancel();
      throw new RegistryError(`${registry} refused the ${credential === undefined ? 'anonymous' : `credential of ${credential.address}`} login (401)`, 401);
    }
    return second;
  }

  /** A Bearer token from the realm of the challenge (anonymous without a credential). */
  private async token(params: Record<string, string>, scope: string, credential: RegistryCredential | undefined): Promise<string> {
    const url = new URL(params['realm'] as string);
    if (params['service'] !== undefined) url.searchParams.set('service', params['service']);
    url.searchParams.set('scope', params['scope'] ?? scope);
    const response = await this.fetch(url.toString(), credential === undefined ? {} : { authorization: basic(credential) });
    const body = await this.expectOk(response, 'a registry token');
    let answer: { token?: unknown; access_token?: unknown };
    try {
      answer = JSON.parse(body.toString('utf8')) as typeof answer;
    } catch {
      throw new RegistryError(`the token service ${url.host} answered something that is not JSON`);
    }
    const token = typeof answer.token === 'string' ? answer.token : typeof answer.access_token === 'string' ? answer.access_token : undefined;
    if (token === undefined) throw new RegistryError(`the token service ${url.host} answered no token`);
    return token;
  }
}
