import { createHmac } from 'node:crypto';

/**
 * An independent re-implementation of how the official Azure IoT Node SDK builds SAS tokens
 * (iot-sdk-protocol.md §4), for tests only. It deliberately shares no code with the hub's domain:
 *
 * - `encodeUriComponentStrict`: `azure-iot-common` (`encodeURIComponent` + `! ' ( ) *` as
 *   `'%' + charCode.toString(16)`, lower-case hex);
 * - `hmacHash(key, stringToSign)`: `azure-iot-common/dist/authorization.js`;
 * - `SharedAccessSignature.create(resourceUri, keyName, key, expiry)`: sr = resourceUri as given,
 *   sig = strict-encoded base64 HMAC over `resourceUri + '\n' + expiry`, `toString()` in the order
 *   sr, sig, skn, se, skipping empty fields;
 * - device/module credentials: resourceUri = strict-encode(`HostName/devices/<d>[/modules/<m>]`)
 *   (`sak_authentication_provider.js`), expiry = floor(now/1000) + 3600 by default.
 */
export function sdkEncodeUriComponentStrict(str: string): string {
  return encodeURIComponent(str).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16));
}

export function sdkHmacHash(password: string, stringToSign: string): string {
  const hmac = createHmac('sha256', Buffer.from(password, 'base64'));
  hmac.update(stringToSign);
  return hmac.digest('base64');
}

export function sdkSharedAccessSignatureCreate(resourceUri: string, keyName: string | null, key: string, expiry: number | string): string {
  const sr = resourceUri;
  const skn = keyName ? sdkEncodeUriComponentStrict(keyName) : keyName;
  const se = expiry;
  const sig = sdkEncodeUriComponentStrict(sdkHmacHash(key, sr + '\n' + se));
  let text = 'SharedAccessSignature ';
  text += 'sr=' + sr;
  text += '&sig=' + sig;
  if (skn) {
    text += '&skn=' + skn;
  }
  text += '&se=' + se;
  return text;
}

/** The token `Client`/`ModuleClient` send as MQTT password for a SharedAccessKey connection string. */
export function sdkDeviceToken(options: { host: string; deviceId: string; moduleId?: string; key: string; expiry: number }): string {
  let resource = options.host + '/devices/' + options.deviceId;
  if (options.moduleId) {
    resource += '/modules/' + options.moduleId;
  }
  return sdkSharedAccessSignatureCreate(sdkEncodeUriComponentStrict(resource), null, options.key, options.expiry);
}
