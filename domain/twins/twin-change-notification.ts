import type { Identity } from '../identity/identity.js';
import { type JsonObject, cloneJson, setOwn } from './json.js';

/** `messageType` and `messageSchema` of twin-change notifications (edgeHub `Hub.Core/Constants.cs`). */
export const TWIN_CHANGE_NOTIFICATION = 'twinChangeNotification';

/** edgeHub's own module id, the sender of twin-change notifications. */
export const EDGE_HUB_MODULE_ID = '$edgeHub';

export interface TwinChangeNotification {
  /** JSON body: `{ version, properties: { reported: { ...patch, $version } } }`. */
  readonly body: JsonObject;
  /** System properties, by hub name (see iotedge-semantics.md §5.6). */
  readonly systemProperties: Readonly<Record<string, string>>;
  /** Application properties: none (IoT Hub's cloud notifications add `opType`, `hubName`, ...; edgeHub does not). */
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * The message routed from source `/twinChangeNotifications` when a client updates its reported
 * properties (iotedge-semantics.md §5.2).
 *
 * System properties, from edgeHub `DeviceMessageHandler.UpdateReportedPropertiesAsync` and its
 * test `ForwardsTwinPatchOperationToTheCloudProxy`: `messageType` and `messageSchema` =
 * `twinChangeNotification`, `connectionDeviceId` = the edge device, `connectionModuleId` =
 * `$edgeHub`, `rpSenderDeviceId`/`rpSenderModuleId` = the client that reported, `enqueuedTime`.
 * We add `contentType: application/json` and `contentEncoding: utf-8` so `$body` route queries work
 * *(inferred: IoT Hub sets them on its twin-change events)*.
 *
 * Body: IoT Hub's twin-change event shape, `{"version":v,"properties":{"reported":{...,"$version":v}}}`,
 * which is what `twin_change_includes(properties.reported.x)` reads (Routing.Core
 * `TwinChangeIncludesTest` fixture). IoT Hub's top-level `version` is the whole twin's version; we
 * carry the reported section's `$version` there *(deviation, inferred harmless for routing)*. edgeHub
 * itself routes the client's raw patch bytes (`RoutingEdgeHub.UpdateReportedPropertiesAsync`),
 * which makes `twin_change_includes` never match there; we prefer the IoT Hub shape.
 */
export function buildTwinChangeNotification(input: {
  readonly edgeDeviceId: string;
  readonly sender: Identity;
  readonly reportedPatch: JsonObject;
  readonly reportedVersion: number;
  /** Milliseconds since the epoch (from the Clock port). */
  readonly now: number;
}): TwinChangeNotification {
  const reported = cloneJson(input.reportedPatch);
  setOwn(reported, '$version', input.reportedVersion);
  const systemProperties: Record<string, string> = {
    messageType: TWIN_CHANGE_NOTIFICATION,
    messageSchema: TWIN_CHANGE_NOTIFICATION,
    connectionDeviceId: input.edgeDeviceId,
    connectionModuleId: EDGE_HUB_MODULE_ID,
    rpSenderDeviceId: input.sender.deviceId,
    enqueuedTime: new Date(input.now).toISOString(),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
  };
  if (input.sender.kind === 'module') {
    systemProperties['rpSenderModuleId'] = input.sender.moduleId;
  }
  return { body: { version: input.reportedVersion, properties: { reported } }, systemProperties, properties: {} };
}
