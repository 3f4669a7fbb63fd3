/** The parts of an IoT Hub device connection string the upstream needs. */
export interface DeviceConnectionString {
  readonly hostName: string;
  readonly deviceId: string;
  /** base64; never logged. Empty for an X.509 device (`x509=true`). */
  readonly sharedAccessKey: string;
  /** `x509=true`: the device authenticates with its certificate (`upstream.x509CertFile`), not a key. */
  readonly x509?: boolean;
  /** `GatewayHostName`: where to connect instead of `hostName` (a parent edge device). */
  readonly gatewayHostName?: string;
}

export class ConnectionStringError extends Error {
  readonly code = 'UPSTREAM_CONNECTION_STRING';
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionStringError';
  }
}

/**
 * Parses `HostName=<hub>;DeviceId=<id>;SharedAccessKey=<key>[;GatewayHostName=<gw>]`, or with
 * `x509=true` instead of the key (X.509 device). Errors name
 * the missing or unsupported part, never the key.
 */
export function parseDeviceConnectionString(text: string): DeviceConnectionString {
  const parts = new Map<string, string>();
  for (const piece of text.split(';')) {
    if (piece.trim() === '') continue;
    const at = piece.indexOf('=');
    if (at <= 0) throw new ConnectionStringError('the IoT Hub connection string must be Key=Value pairs separated by ";" (HostName=...;DeviceId=...;SharedAccessKey=...)');
    parts.set(piece.slice(0, at).trim(), piece.slice(at + 1).trim());
  }
  if (parts.has('SharedAccessSignature')) throw new ConnectionStringError('a connection string with SharedAccessSignature cannot be renewed; give the device SharedAccessKey');
  const x509 = parts.has('x509');
  if (x509 && parts.get('x509')!.toLowerCase() !== 'true') throw new ConnectionStringError('x509 must be "true" in the IoT Hub connection string');
  if (x509 && parts.has('SharedAccessKey')) throw new ConnectionStringError('give either SharedAccessKey or x509=true in the IoT Hub connection string, not both');
  const hostName = parts.get('HostName');
  const deviceId = parts.get('DeviceId');
  const key = x509 ? '' : parts.get('SharedAccessKey');
  const missing = [hostName ? undefined : 'HostName', deviceId ? undefined : 'DeviceId', key || x509 ? undefined : 'SharedAccessKey'].filter((m) => m !== undefined);
  if (missing.length > 0) throw new ConnectionStringError(`the IoT Hub connection string lacks ${missing.join(', ')}`);
  if (parts.has('ModuleId')) throw new ConnectionStringError('give the edge device connection string (no ModuleId)');
  const gateway = parts.get('GatewayHostName');
  return { hostName: hostName!, deviceId: deviceId!, sharedAccessKey: key!, ...(x509 ? { x509: true } : {}), ...(gateway ? { gatewayHostName: gateway } : {}) };
}
