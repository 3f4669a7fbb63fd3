import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { LocalRegistry } from './local-registry.js';

/** An ECDSA P-256 key pair, as `cosign generate-key-pair` makes (cosign's default). */
export function signingKeys(): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function basicAuth(registry: LocalRegistry): string {
  return `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
}

/** Uploads a blob with the Registry HTTP API v2 (monolithic: POST an upload, PUT the bytes). */
async function pushBlob(registry: LocalRegistry, repository: string, bytes: Buffer): Promise<string> {
  const digest = digestOf(bytes);
  const started = await fetch(`http://${registry.address}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: { authorization: basicAuth(registry) } });
  if (started.status !== 202) throw new Error(`blob upload refused: ${started.status} ${await started.text()}`);
  const location = new URL(started.headers.get('location') ?? '', `http://${registry.address}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers: { authorization: basicAuth(registry), 'content-type': 'application/octet-stream' }, body: bytes });
  if (put.status !== 201) throw new Error(`blob upload failed: ${put.status} ${await put.text()}`);
  return digest;
}

/** The simple-signing payload cosign signs for `digest`. */
export function signaturePayload(reference: string, digest: string): Buffer {
  return Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }));
}

/**
 * Pushes a cosign signature artifact for `digest` to `<repository>:sha256-<hex>.sig` as cosign
 * does: an OCI image manifest whose one layer is the payload, its base64 DER ECDSA signature in
 * the `dev.cosignproject.cosign/signature` annotation. `payload` defaults to the payload for `digest`.
 */
export async function pushSignature(registry: LocalRegistry, repository: string, digest: string, privateKey: KeyObject, payload = signaturePayload(`${registry.address}/${repository}`, digest)): Promise<void> {
  const signature = sign('sha256', payload, { key: privateKey, dsaEncoding: 'der' }).toString('base64');
  await pushSignatureManifest(registry, repository, digest, [{ payload, annotations: { 'dev.cosignproject.cosign/signature': signature } }]);
}

/** A signature manifest with the given layers (payload + annotations), under `sha256-<hex>.sig` of `digest`. */
export async function pushSignatureManifest(registry: LocalRegistry, repository: string, digest: string, layers: Array<{ payload: Buffer; annotations: Record<string, string> }>): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: '', config: {}, created: '0001-01-01T00:00:00Z', history: [{ created: '0001-01-01T00:00:00Z' }], os: '', rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = await pushBlob(registry, repository, config);
  const described = [];
  for (const layer of layers) {
    described.push({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: layer.payload.length, digest: await pushBlob(registry, repository, layer.payload), annotations: layer.annotations });
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: configDigest },
    layers: described,
  });
  const tag = `${digest.replace(':', '-')}.sig`;
  const put = await fetch(`http://${registry.address}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { authorization: basicAuth(registry), 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`signature manifest refused: ${put.status} ${await put.text()}`);
}

/** Copies the signature artifact of `from` to the signature tag of `to` (what an attacker re-pushing a tag might try). */
export async function copySignature(registry: LocalRegistry, repository: string, from: string, to: string): Promise<void> {
  const headers = { authorization: basicAuth(registry), accept: 'application/vnd.oci.image.manifest.v1+json' };
  const manifest = await fetch(`http://${registry.address}/v2/${repository}/manifests/${from.replace(':', '-')}.sig`, { headers });
  if (!manifest.ok) throw new Error(`no signature to copy: ${manifest.status}`);
  const put = await fetch(`http://${registry.address}/v2/${repository}/manifests/${to.replace(':', '-')}.sig`, {
    method: 'PUT',
    headers: { authorization: basicAuth(registry), 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: Buffer.from(await manifest.arrayBuffer()),
  });
  if (put.status !== 201) throw new Error(`signature copy refused: ${put.status}`);
}

/**
 * Tags a local image as `<registry>/<repository>:<tag>`, pushes it with the registry's login and
 * removes the local tag again (so a module's create must pull); returns the manifest digest.
 */
export async function pushImage(docker: Docker, localImage: string, registry: LocalRegistry, repository: string, tag: string): Promise<string> {
  const remote = `${registry.address}/${repository}`;
  await docker.getImage(localImage).tag({ repo: remote, tag });
  const stream = (await docker.getImage(`${remote}:${tag}`).push({ authconfig: { username: registry.username, password: registry.password, serveraddress: registry.address } })) as unknown as Readable;
  let text = '';
  for await (const chunk of stream) text += (chunk as Buffer).toString('utf8');
  if (/"error"/.test(text)) throw new Error(`push failed: ${text}`);
  const digest = /"Digest":"(sha256:[0-9a-f]{64})"/.exec(text)?.[1] ?? /digest: (sha256:[0-9a-f]{64})/.exec(text)?.[1];
  if (digest === undefined) throw new Error(`no digest in the push output: ${text}`);
  await docker.getImage(`${remote}:${tag}`).remove();
  return digest;
}
