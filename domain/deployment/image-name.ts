/**
 * Docker image names as Azure's agent reads them (`DockerModule` image regex): optional
 * `registry/` and `repository/` segments, the image, an optional `:tag` (`:latest` when missing).
 */
const IMAGE_PATTERN = /^(?<repo>(?:[^/]*\/)*)(?<image>[^/:]+)(?<tag>:[^/:]+)?$/;

export type ImageNameResult = { ok: true; image: string } | { ok: false; message: string };

/** `@sha256:<64 hex>` at the end of an image name: a reference pinned by digest. */
const DIGEST_SUFFIX = /@sha256:[0-9a-f]{64}$/;

export function normalizeImageName(raw: string): ImageNameResult {
  const image = raw.trim();
  if (image === '') return { ok: false, message: 'image name cannot be empty' };
  // Pinned by digest (`name@sha256:...`, `name:tag@sha256:...`): the name must be valid; no `:latest` is added.
  const digest = DIGEST_SUFFIX.exec(image);
  if (digest !== null) {
    const name = normalizeImageName(image.slice(0, digest.index));
    return name.ok ? { ok: true, image } : { ok: false, message: `image name "${image}" is not a valid image name` };
  }
  // `$upstream:443/repo/image:tag` (nested edge) fits the same pattern: `$upstream:443/` is a repo segment.
  const match = IMAGE_PATTERN.exec(image);
  if (match === null || /\s/.test(image)) return { ok: false, message: `image name "${image}" is not a valid image name` };
  const hasTag = match.groups?.['tag'] !== undefined;
  return { ok: true, image: hasTag ? image : `${image}:latest` };
}

const DOCKER_HUB_ADDRESSES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * The registry an image is pulled from: the first path segment when it looks like a host
 * (contains `.` or `:`, or is `localhost`), else Docker Hub (`docker.io`).
 */
export function imageRegistry(image: string): string {
  const slash = image.indexOf('/');
  if (slash > 0) {
    const first = image.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('$')) return first.toLowerCase();
  }
  return 'docker.io';
}

/** A credential `address` in comparable form: no scheme, no path, lower case; Docker Hub aliases folded. */
export function normalizeRegistryAddress(address: string): string {
  let host = address.trim().toLowerCase().replace(/^[a-z]+:\/\//, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  return DOCKER_HUB_ADDRESSES.has(host) ? 'docker.io' : host;
}

/** The first credential whose address is the image's registry. */
export function credentialFor<T extends { address: string }>(image: string, credentials: readonly T[]): T | undefined {
  const registry = normalizeRegistryAddress(imageRegistry(image));
  return credentials.find((c) => normalizeRegistryAddress(c.address) === registry);
}
