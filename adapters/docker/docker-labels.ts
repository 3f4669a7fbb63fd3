import { createHash } from 'node:crypto';
import { canonicalJson, type RegistryCredential } from '../../domain/modules/module-spec.js';

/** Labels Edgeport puts on every container it creates. */
export const LABELS = {
  /** Azure's owner label, so Azure tooling recognises the containers as edge modules. */
  owner: 'net.azure-devices.edge.owner',
  originalImage: 'net.azure-devices.edge.original-image',
  module: 'edgeport.module',
  /** Canonical JSON of the spec the container was created from (without status and secrets). */
  spec: 'edgeport.spec',
  /** The desired status at creation; `list` prefers the status of the agent's last start/stop. */
  status: 'edgeport.status',
  /** SHA-256 of the registry credential used (never the credential itself). */
  credential: 'edgeport.registry-credential',
  /** Config `agent.dockerInstance`, when several Edgeports share an engine (set through `labels`). */
  instance: 'edgeport.instance',
  /** `sha256:<hex>` of the image manifest the container was created from, when known (pulled from a registry). */
  imageDigest: 'edgeport.image-digest',
} as const;

export const OWNER = 'Microsoft.Azure.Devices.Edge.Agent';

/** The `edgeport.registry-credential` label value: a hash, so the label never holds the password. */
export function credentialHash(credential: RegistryCredential): string {
  return createHash('sha256').update(canonicalJson(credential)).digest('hex');
}
