/**
 * Who this edge hub is: the edge device's id (module endpoints `BrokeredEndpoint("/modules/<m>/...")`
 * name modules of this device; twin-change notifications come from `<deviceId>/$edgeHub`) and the
 * host names SAS tokens may name in `sr`.
 */
export class HubIdentity {
  constructor(
    /** The edge device's id (config `deviceId`). */
    readonly edgeDeviceId: string,
    /** The IoT hub host name clients sign (config `iotHubHostname`). */
    readonly iotHubHostName: string,
    /** The edge device's own host name (config `hostname`), also accepted in `sr` and in MQTT usernames. */
    readonly edgeHostName?: string,
  ) {}
}
