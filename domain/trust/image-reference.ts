import { imageRegistry } from '../deployment/image-name.js';

/** An image name taken apart as the Registry HTTP API v2 addresses it. */
export interface ImageReference {
  /** The registry as written (`127.0.0.1:5000`, `myacr.azurecr.io`), `docker.io` for Docker Hub. */
  registry: string;
  /** The repository in the registry (`team/app`; Docker Hub's official images under `library/`). */
  repository: string;
  /** `1.0` of `app:1.0` (absent when only a digest is given). */
  tag?: string;
  /** `sha256:<hex>` of `app@sha256:<hex>`. */
  digest?: string;
}

/**
 * Takes a normalized image name apart (`registry/repo:tag`, `repo@sha256:...`,
 * `repo:tag@sha256:...`; Docker Hub when the first segment is not a host).
 */
export function parseImageReference(image: string): ImageReference {
  let rest = image;
  let digest: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const registry = imageRegistry(image);
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash > 0 && rest.slice(0, slash).toLowerCase() === registry) repository = rest.slice(slash + 1);
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  const reference: ImageReference = { registry, repository };
  if (tag !== undefined) reference.tag = tag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** The `repo@sha256:...` name that runs exactly the image of `digest` (the registry part kept as written). */
export function pinnedImageName(image: string, digest: string): string {
  let rest = image;
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) rest = rest.slice(0, colon);
  return `${rest}@${digest}`;
}
