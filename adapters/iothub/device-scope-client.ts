import { Agent, fetch } from 'undici';
import type { Clock } from '../../application/ports/clock.js';
import type { IdentityRecord } from '../../application/ports/identity-store.js';
import type { Logger } from '../../application/ports/logger.js';
import { UpstreamError } from '../../application/ports/upstream.js';
import { type Identity, deviceIdentity, moduleIdentity } from '../../domain/identity/identity.js';
import { type X509Authentication, normalizeThumbprint } from '../../domain/identity/x509.js';
import { isJsonObject, type JsonValue } from '../../domain/twins/json.js';
import { errorText } from './amqp-links.js';
import { API_VERSION, IOTHUB_DEFAULTS, connectHostOf, operationTimeoutOf, type IotHubUpstreamOptions } from './iothub-options.js';

const SCOPE_API_VERSION = '2018-08-30-preview';
/** Identities per device-scope page (edgeHub asks for 100 too). */
const SCOPE_PAGE_SIZE = 100;

/** One page of `devicesAndModulesInDeviceScope`. */
interface ScopePage {
  items?: unknown[];
  continuationLink?: string | null;
}

interface ScopeAuthentication {
  type?: string;
  symmetricKey?: { primaryKey?: string; secondaryKey?: string };
  x509Thumbprint?: { primaryThumbprint?: string | null; secondaryThumbprint?: string | null };
}

/** An X.509 entry's authentication (`selfSigned` thumbprints or `certificateAuthority`), as the identity registry stores it. */
function scopeX509(auth: ScopeAuthentication | undefined): X509Authentication | undefined {
  if (auth?.type === 'certificateAuthority') return { type: 'certificateAuthority' };
  if (auth?.type !== 'selfSigned') return undefined;
  const thumbprint = (text: string | null | undefined): string | undefined => {
    try {
      return typeof text === 'string' && text !== '' ? normalizeThumbprint(text) : undefined;
    } catch {
      return undefined;
    }
  };
  const primary = thumbprint(auth.x509Thumbprint?.primaryThumbprint);
  const secondary = thumbprint(auth.x509Thumbprint?.secondaryThumbprint);
  if (primary === undefined && secondary === undefined) return undefined;
  return { type: 'selfSigned', ...(primary !== undefined ? { primaryThumbprint: primary } : {}), ...(secondary !== undefined ? { secondaryThumbprint: secondary } : {}) };
}

/**
 * A device-scope entry as an identity record: with its keys, or for an X.509 device its
 * thumbprints or CA authentication (so it authenticates offline too); undefined for anything else.
 */
export function scopeRecord(item: unknown): IdentityRecord | undefined {
  if (!isJsonObject(item as JsonValue)) return undefined;
  const entry = item as Record<string, unknown>;
  if (typeof entry['deviceId'] !== 'string') return undefined;
  const auth = entry['authentication'] as ScopeAuthentication | undefined;
  const key = auth?.symmetricKey;
  const x509 = scopeX509(auth);
  const hasKeys = typeof key?.primaryKey === 'string' && typeof key.secondaryKey === 'string';
  if (!hasKeys && x509 === undefined) return undefined;
  const identity = typeof entry['moduleId'] === 'string' && entry['moduleId'] !== '' ? moduleIdentity(entry['deviceId'], entry['moduleId']) : deviceIdentity(entry['deviceId']);
  const status = entry['status'] === 'disabled' ? 'disabled' : 'enabled';
  if (x509 !== undefined) return { identity, credentials: { primaryKey: '', secondaryKey: '', status, x509 } };
  return { identity, credentials: { primaryKey: key!.primaryKey!, secondaryKey: key!.secondaryKey!, status } };
}

/**
 * The edge device's HTTPS calls to IoT Hub's service endpoint (edgeHub's device-scope API client):
 * the device scope with keys, paged, and creating module identities. Requests go through `fetch`
 * (undici) with one keep-alive `Agent` that trusts the configured CA; each is bounded by the
 * operation time-out on the clock and authorized with the edge device's SAS token.
 */
export class DeviceScopeClient {
  /** Created on first use, destroyed by `close` (the upstream may start again after a stop). */
  private agent: Agent | undefined;
  private readonly origin: string;

  constructor(
    private readonly options: IotHubUpstreamOptions,
    /** `edgeToken` resolves undefined for an X.509 device: the client certificate authenticates the calls. */
    private readonly deps: {
      readonly clock: Clock;
      readonly log: Logger;
      readonly edgeToken: () => Promise<string | undefined>;
      /** A token for another identity (nested edge: a child device, signed on its behalf). */
      readonly identityToken?: (identity: Identity) => Promise<string>;
    },
  ) {
    const host = connectHostOf(options);
    this.origin = `https://${host}:${options.httpsPort ?? IOTHUB_DEFAULTS.httpsPort}`;
  }

  /** The device scope (the edge device, its modules and leaf devices) with keys; entries without symmetric keys are skipped. */
  async deviceScope(): Promise<IdentityRecord[]> {
    const edge = encodeURIComponent(this.options.connection.deviceId);
    return await this.scopePages(`/devices/${edge}/modules/${encodeURIComponent('$edgeHub')}/devicesAndModulesInDeviceScope?api-version=${SCOPE_API_VERSION}`, {});
  }

  /**
   * Nested edge: the device scope of child edge device `target` (edgeHub's
   * `devicesAndModulesInTargetDeviceScope`), asked for with the edge device's own token.
   */
  async targetDeviceScope(target: string): Promise<IdentityRecord[]> {
    const edge = encodeURIComponent(this.options.connection.deviceId);
    return await this.scopePages(`/devices/${edge}/modules/${encodeURIComponent('$edgeHub')}/devicesAndModulesInTargetDeviceScope?api-version=${SCOPE_API_VERSION}`, { targetDeviceId: target, targetModuleId: '$edgeHub' });
  }

  private async scopePages(path: string, request: Record<string, unknown>): Promise<IdentityRecord[]> {
    const records: IdentityRecord[] = [];
    let continuation: string | null = null;
    do {
      const body: Record<string, unknown> = { ...request, pageSize: SCOPE_PAGE_SIZE };
      if (continuation !== null) body['continuationLink'] = continuation;
      const page = (await this.call('POST', path, body)) as ScopePage;
      for (const item of page.items ?? []) {
        const record = scopeRecord(item);
        if (record !== undefined) records.push(record);
        else this.deps.log.debug('device scope entry without symmetric keys or X.509 thumbprints; skipped', { deviceId: String((item as { deviceId?: unknown } | null)?.deviceId ?? '') });
      }
      continuation = typeof page.continuationLink === 'string' && page.continuationLink !== '' ? page.continuationLink : null;
    } while (continuation !== null);
    return records;
  }

  /**
   * Nested edge: creates module `moduleId` of child edge device `deviceId` unless it exists (409),
   * authorized with a token for the child device signed on its behalf.
   */
  async createTargetModuleIdentity(deviceId: string, moduleId: string): Promise<void> {
    const token = this.deps.identityToken;
    if (token === undefined) throw new UpstreamError('creating a child device\'s module identity needs its token', false);
    await this.putModule(deviceId, moduleId, await token(deviceIdentity(deviceId)));
  }

  /** Creates module `moduleId` of the edge device unless it exists (409). */
  async createModuleIdentity(moduleId: string): Promise<void> {
    await this.putModule(this.options.connection.deviceId, moduleId);
  }

  private async putModule(edge: string, moduleId: string, authorization?: string): Promise<void> {
    try {
      await this.call('PUT', `/devices/${encodeURIComponent(edge)}/modules/${encodeURIComponent(moduleId)}?api-version=${API_VERSION}`, { deviceId: edge, moduleId }, authorization);
    } catch (error) {
      // 409: it exists already.
      if (error instanceof UpstreamError && error.status === 409) {
        this.deps.log.debug('module identity exists in the cloud already', { device: edge, module: moduleId });
        return;
      }
      throw error;
    }
  }

  /** Ends the keep-alive connection; a request still running fails (the upstream is stopping). */
  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.destroy();
  }

  private dispatcher(): Agent {
    const ca = this.options.ca;
    const x509 = this.options.x509;
    this.agent ??= new Agent({ connect: { servername: connectHostOf(this.options), ...(ca === undefined ? {} : { ca }), ...(x509 === undefined ? {} : { cert: x509.cert, key: x509.key }) } });
    return this.agent;
  }

  /** One JSON request; rejects with `UpstreamError` (transient for network failures, time-outs, 429 and 5xx). */
  private async call(method: string, path: string, body: unknown, token?: string): Promise<unknown> {
    const what = `IoT Hub ${method} ${path.split('?')[0]}`;
    const authorization = token ?? (await this.deps.edgeToken());
    const abort = new AbortController();
    const timer = this.deps.clock.schedule(operationTimeoutOf(this.options), () => abort.abort(new Error('timed out')));
    try {
      const response = await fetch(`${this.origin}${path}`, {
        method,
        dispatcher: this.dispatcher(),
        signal: abort.signal,
        headers: { ...(authorization === undefined ? {} : { authorization }), 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new UpstreamError(`${what} answered ${response.status}: ${text.slice(0, 200)}`, response.status === 429 || response.status >= 500, response.status);
      try {
        return text === '' ? {} : (JSON.parse(text) as unknown);
      } catch {
        throw new UpstreamError(`${what} answered with invalid JSON`, false, response.status);
      }
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      // fetch reports network failures as `TypeError: fetch failed` with the reason as its cause.
      const reason = abort.signal.aborted ? 'timed out' : errorText((error as { cause?: unknown }).cause ?? error);
      throw new UpstreamError(`${what} failed: ${reason}`, true, undefined, { cause: error });
    } finally {
      timer.cancel();
    }
  }
}
