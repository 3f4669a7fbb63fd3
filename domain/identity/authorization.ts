import { type Identity, sameIdentity } from './identity.js';

/**
 * What a connected client may do, decided over protocol-independent operations (the MQTT and AMQP
 * heads translate topics and link addresses into these). Rules (iotedge-semantics.md §8, §7.1;
 * iot-sdk-protocol.md §1.3, §3.6):
 *
 * - telemetry: only as itself (the topic's device/module must be the authenticated identity);
 * - outputs (`$.on` / `iothub-outputname`): modules only, as themselves;
 * - module inputs: modules only, their own inputs;
 * - cloud-to-device messages: devices only, their own queue;
 * - twin (get, reported patch, desired updates, responses) and direct methods (receive, respond):
 *   always the client's own, which is why these operations carry no target.
 */
export type ClientOperation =
  | { readonly kind: 'send-telemetry'; readonly target: Identity; readonly outputName?: string }
  | { readonly kind: 'receive-c2d'; readonly target: Identity }
  | { readonly kind: 'receive-inputs'; readonly target: Identity }
  | { readonly kind: 'twin-get' }
  | { readonly kind: 'twin-patch-reported' }
  | { readonly kind: 'twin-receive-desired' }
  | { readonly kind: 'twin-receive-responses' }
  | { readonly kind: 'method-receive' }
  | { readonly kind: 'method-respond' };

export type DenialReason =
  /** The operation names another device or module. */
  | 'other-identity'
  /** Outputs and inputs exist only for modules. */
  | 'modules-only'
  /** Cloud-to-device messages exist only for devices. */
  | 'devices-only';

export type AuthorizationDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: DenialReason };

const ALLOW: AuthorizationDecision = { allowed: true };
const deny = (reason: DenialReason): AuthorizationDecision => ({ allowed: false, reason });

/** Decides whether `client` (the authenticated identity) may perform `operation`. */
export function authorize(client: Identity, operation: ClientOperation): AuthorizationDecision {
  switch (operation.kind) {
    case 'send-telemetry':
      if (!sameIdentity(client, operation.target)) {
        return deny('other-identity');
      }
      if (operation.outputName !== undefined && client.kind !== 'module') {
        return deny('modules-only');
      }
      return ALLOW;
    case 'receive-inputs':
      if (client.kind !== 'module' || operation.target.kind !== 'module') {
        return deny('modules-only');
      }
      return sameIdentity(client, operation.target) ? ALLOW : deny('other-identity');
    case 'receive-c2d':
      if (client.kind !== 'device' || operation.target.kind !== 'device') {
        return deny('devices-only');
      }
      return sameIdentity(client, operation.target) ? ALLOW : deny('other-identity');
    case 'twin-get':
    case 'twin-patch-reported':
    case 'twin-receive-desired':
    case 'twin-receive-responses':
    case 'method-receive':
    case 'method-respond':
      return ALLOW;
  }
}

/** A sentence for logs and for protocol error texts. */
export function describeDenial(client: Identity, operation: ClientOperation, reason: DenialReason): string {
  const who = client.kind === 'device' ? `device ${client.deviceId}` : `module ${client.deviceId}/${client.moduleId}`;
  switch (reason) {
    case 'other-identity':
      return `${who} may not ${operation.kind} for another identity`;
    case 'modules-only':
      return `${who} may not ${operation.kind}: only modules have inputs and outputs`;
    case 'devices-only':
      return `${who} may not ${operation.kind}: only devices receive cloud-to-device messages`;
  }
}
