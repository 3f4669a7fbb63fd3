import type { UpstreamFeature } from '../../application/ports/upstream.js';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';

/** An identity behind the edge as the upstream knows it: its link addresses and what the cloud should push to it. */
export interface CloudIdentity {
  readonly identity: Identity;
  /** `device` or `device/module`: the key of every per-identity table, in link names and logs. */
  readonly key: string;
  /** `/devices/<d>[/modules/<m>]`: the address prefix of the identity's links. */
  readonly prefix: string;
  /** What the cloud should push for it (remembered across reconnects). */
  features: Set<UpstreamFeature>;
}

/** The identities the upstream has spoken for, created on first use. */
export class CloudIdentities {
  private readonly byKey = new Map<string, CloudIdentity>();

  of(identity: Identity): CloudIdentity {
    const key = formatIdentity(identity);
    let cloud = this.byKey.get(key);
    if (cloud === undefined) {
      const prefix = identity.kind === 'device' ? `/devices/${identity.deviceId}` : `/devices/${identity.deviceId}/modules/${identity.moduleId}`;
      cloud = { identity, key, prefix, features: new Set() };
      this.byKey.set(key, cloud);
    }
    return cloud;
  }
}

/** Per-identity state of one link kind, created on first use (keyed like `CloudIdentities`). */
export class PerIdentity<S extends object> {
  private readonly byKey = new Map<string, S>();

  constructor(private readonly create: () => S) {}

  of(cloud: CloudIdentity): S {
    let state = this.byKey.get(cloud.key);
    if (state === undefined) this.byKey.set(cloud.key, (state = this.create()));
    return state;
  }

  values(): IterableIterator<S> {
    return this.byKey.values();
  }
}
