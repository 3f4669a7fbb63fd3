import { type Identity, formatIdentity } from './identity.js';

/**
 * Shared access signature tokens as the Azure IoT SDKs produce them (iot-sdk-protocol.md §4):
 *
 *   SharedAccessSignature sr=<encodeUriComponentStrict(resource)>&sig=<encodeUriComponentStrict(base64 HMAC)>&se=<unix seconds>[&skn=<key name>]
 *
 * The domain parses and checks tokens; it cannot compute HMAC-SHA256 (no node:crypto here), so it
 * hands out the exact string that was signed (`stringToSign`) and the application compares the
 * signature through the `SasSigner` port, in constant time.
 */
export interface SasToken {
  /** `sr` exactly as received (still URL-encoded): this is what the client signed. */
  readonly encodedResource: string;
  /** `sr` URL-decoded, e.g. `myhub.azure-devices.net/devices/dev1/modules/mod1`. */
  readonly resource: string;
  /** `sig` URL-decoded: standard base64. Never log it. */
  readonly signature: string;
  /** `se` exactly as received (decimal seconds); part of the signed string. */
  readonly expiryText: string;
  /** `se` as a number of seconds since the Unix epoch. */
  readonly expirySeconds: number;
  /** `skn`, present only for policy (SharedAccessKeyName) tokens. */
  readonly keyName?: string;
}

export type SasTokenErrorCode =
  | 'not-a-sas-token'
  | 'token-too-long'
  | 'malformed-field'
  | 'duplicate-field'
  | 'missing-field'
  | 'bad-encoding'
  | 'bad-expiry'
  | 'bad-signature-format';

/**
 * The token text is not a well-formed SAS token. The message names the field and the rule, never
 * the field's value (the token is a credential).
 */
export class SasTokenError extends Error {
  constructor(
    readonly code: SasTokenErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'SasTokenError';
  }
}

export const SAS_TOKEN_PREFIX = 'SharedAccessSignature';

/**
 * Longest token accepted. Real tokens are ~150-400 characters (resource up to ~300 with 128-char
 * ids, 44-char signature, 10-digit expiry); the bound stops hostile inputs early.
 */
export const MAX_SAS_TOKEN_LENGTH = 4096;

const KNOWN_FIELDS = new Set(['sr', 'sig', 'se', 'skn']);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const EXPIRY = /^[0-9]{1,15}$/;

function decodeField(field: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new SasTokenError('bad-encoding', `SAS token field "${field}" is not valid URL encoding`, field);
  }
}

/**
 * Parses a SAS token. Fields may come in any order (the Node SDK emits sr, sig, skn, se); each of
 * `sr`, `sig`, `se` must appear exactly once; unknown fields are ignored, as the SDK's own parser
 * does. Throws `SasTokenError` and nothing else.
 */
export function parseSasToken(text: string): SasToken {
  if (typeof text !== 'string') {
    throw new SasTokenError('not-a-sas-token', 'SAS token must be a string');
  }
  if (text.length > MAX_SAS_TOKEN_LENGTH) {
    throw new SasTokenError('token-too-long', `SAS token is longer than ${MAX_SAS_TOKEN_LENGTH} characters`);
  }
  const match = /^SharedAccessSignature[ \t]+(\S+)[ \t]*$/.exec(text);
  if (match === null) {
    throw new SasTokenError('not-a-sas-token', `SAS token must have the form "${SAS_TOKEN_PREFIX} sr=...&sig=...&se=..."`);
  }
  const fields = new Map<string, string>();
  for (const pair of (match[1] as string).split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new SasTokenError('malformed-field', 'SAS token fields must be "name=value" pairs separated by "&"');
    }
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!KNOWN_FIELDS.has(name)) {
      continue;
    }
    if (fields.has(name)) {
      throw new SasTokenError('duplicate-field', `SAS token field "${name}" appears more than once`, name);
    }
    fields.set(name, value);
  }
  for (const required of ['sr', 'sig', 'se']) {
    const value = fields.get(required);
    if (value === undefined || value.length === 0) {
      throw new SasTokenError('missing-field', `SAS token field "${required}" is missing or empty`, required);
    }
  }
  const encodedResource = fields.get('sr') as string;
  const resource = decodeField('sr', encodedResource);
  const signature = decodeField('sig', fields.get('sig') as string);
  if (!BASE64.test(signature) || signature.length % 4 !== 0) {
    throw new SasTokenError('bad-signature-format', 'SAS token field "sig" is not URL-encoded base64', 'sig');
  }
  const expiryText = fields.get('se') as string;
  if (!EXPIRY.test(expiryText)) {
    throw new SasTokenError('bad-expiry', 'SAS token field "se" must be the expiry in whole seconds since 1970-01-01T00:00:00Z', 'se');
  }
  const skn = fields.get('skn');
  const token: SasToken = {
    encodedResource,
    resource,
    signature,
    expiryText,
    expirySeconds: Number(expiryText),
  };
  if (skn !== undefined && skn.length > 0) {
    return { ...token, keyName: decodeField('skn', skn) };
  }
  return token;
}

/**
 * The exact string the client signed: `sr` and `se` as received, joined by a newline. Using the
 * received `sr` instead of re-encoding the decoded one matters for ids containing `! ' ( ) *`,
 * which the SDK escapes with lower-case hex (iot-sdk-protocol.md §4, "Server-side validation").
 */
export function stringToSign(token: SasToken): string {
  return `${token.encodedResource}\n${token.expiryText}`;
}

/**
 * `encodeURIComponent` plus escaping of `! ' ( ) *` as `'%' + charCode.toString(16)`, i.e. with
 * lower-case hex (`*` -> `%2a`), exactly like `azure-iot-common`'s `encodeUriComponentStrict`.
 */
export function encodeUriComponentStrict(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
}

/** `<hub>/devices/<d>` or `<hub>/devices/<d>/modules/<m>`, unencoded, no lowercasing. */
export function sasResourceFor(hubHostName: string, identity: Identity): string {
  const device = `${hubHostName}/devices/${identity.deviceId}`;
  return identity.kind === 'device' ? device : `${device}/modules/${identity.moduleId}`;
}

/** What a token-issuing party signs for `identity` (the SDK's `sr + '\n' + se`). */
export function stringToSignFor(hubHostName: string, identity: Identity, expirySeconds: number): string {
  return `${encodeUriComponentStrict(sasResourceFor(hubHostName, identity))}\n${expirySeconds}`;
}

/**
 * Formats a token as `SharedAccessSignature.toString()` does: sr, sig, skn, se, skipping empty
 * fields, with `sig` strictly URL-encoded. `signatureBase64` is the raw base64 HMAC.
 */
export function formatSasToken(parts: { hubHostName: string; identity: Identity; signatureBase64: string; expirySeconds: number; keyName?: string }): string {
  const sr = encodeUriComponentStrict(sasResourceFor(parts.hubHostName, parts.identity));
  const skn = parts.keyName === undefined || parts.keyName === '' ? '' : `&skn=${encodeUriComponentStrict(parts.keyName)}`;
  return `${SAS_TOKEN_PREFIX} sr=${sr}&sig=${encodeUriComponentStrict(parts.signatureBase64)}${skn}&se=${parts.expirySeconds}`;
}

/** True when the token's expiry is at or before `nowMs` (plus the tolerated clock skew). */
export function isSasTokenExpired(token: SasToken, nowMs: number, clockSkewSeconds = 0): boolean {
  return (token.expirySeconds + clockSkewSeconds) * 1000 <= nowMs;
}

/** A parsed `sr`: the host and the identity it names. */
export interface SasResource {
  readonly hostName: string;
  readonly identity: Identity;
}

/**
 * Splits a decoded `sr` into host and identity; `undefined` when it names no device or module.
 * Exactly 3 or 5 segments, as edgeHub's `ValidateAudience` requires (so no trailing `/`).
 */
export function parseSasResource(resource: string): SasResource | undefined {
  const parts = resource.split('/');
  const [hostName, devices, deviceId, modules, moduleId] = parts;
  if (hostName === undefined || hostName === '' || devices !== 'devices' || deviceId === undefined || deviceId === '') {
    return undefined;
  }
  if (parts.length === 3) {
    return { hostName, identity: { kind: 'device', deviceId } };
  }
  if (parts.length === 5 && modules === 'modules' && moduleId !== undefined && moduleId !== '') {
    return { hostName, identity: { kind: 'module', deviceId, moduleId } };
  }
  return undefined;
}

export interface SasResourcePolicy {
  /**
   * Host names a token's `sr` may name: the IoT hub host name (what the SDKs always use, even
   * through a gateway) and, as edgeHub allows, the edge device host name. Compared
   * case-insensitively, as DNS names are (edgeHub compares ordinally; being lenient here is safe
   * because the signature covers `sr` as the client wrote it).
   */
  readonly acceptedHostNames: readonly string[];
}

export type SasResourceCheck = { readonly ok: true } | { readonly ok: false; readonly reason: 'not-an-identity-resource' | 'wrong-host' | 'wrong-identity' };

/**
 * Checks the token's `sr` against the identity the client claims, as edgeHub's
 * `DeviceScopeTokenAuthenticator.ValidateAudience` does:
 * - `<host>/devices/<d>`: `d` must be the claim's device id (a device, or a module of `d`);
 * - `<host>/devices/<d>/modules/<m>`: the claim must be exactly module `d/m`;
 * ids compare exactly (IoT Hub ids are case-sensitive, and edgeHub compares ordinally). Which keys
 * may have signed the token is decided separately (`signingCandidates`).
 */
export function checkSasResource(token: SasToken, claim: Identity, policy: SasResourcePolicy): SasResourceCheck {
  const parsed = parseSasResource(token.resource);
  if (parsed === undefined) {
    return { ok: false, reason: 'not-an-identity-resource' };
  }
  const host = parsed.hostName.toLowerCase();
  if (!policy.acceptedHostNames.some((accepted) => accepted.toLowerCase() === host)) {
    return { ok: false, reason: 'wrong-host' };
  }
  const named = parsed.identity;
  if (named.deviceId !== claim.deviceId) {
    return { ok: false, reason: 'wrong-identity' };
  }
  if (named.kind === 'module' && (claim.kind !== 'module' || named.moduleId !== claim.moduleId)) {
    // A module token never authenticates its device, nor a sibling module.
    return { ok: false, reason: 'wrong-identity' };
  }
  return { ok: true };
}

/**
 * Whose keys may have signed a token for `claim`, in the order edgeHub tries them
 * (`DeviceScopeAuthenticator.AuthenticateInternalAsync`): the claimed identity, then, for a module
 * and when `allowDeviceKeyForModule` (edgeHub `allowDeviceAuthForModule`, default true), its device.
 */
export function signingCandidates(claim: Identity, allowDeviceKeyForModule: boolean): Identity[] {
  return claim.kind === 'module' && allowDeviceKeyForModule ? [claim, { kind: 'device', deviceId: claim.deviceId }] : [claim];
}

/** For messages: which identity a token names, without any secret part. */
export function describeSasToken(token: SasToken): string {
  const parsed = parseSasResource(token.resource);
  return parsed === undefined ? 'a token for an unrecognised resource' : `a token for ${formatIdentity(parsed.identity)} at ${parsed.hostName}`;
}

