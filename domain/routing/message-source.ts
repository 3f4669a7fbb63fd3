import { getProperty } from './eval-context.js';

/** The source of twin change notifications; `twin_change_includes` is only valid for it. */
export const TWIN_CHANGE_SOURCE = '/twinChangeNotifications';

/**
 * Normalizes a route's FROM path the way edgeHub's `CustomMessageSource.Create` does: trim, drop a
 * trailing `*`, drop a trailing `/` (unless the path is just `/`), then store it lower-cased with a
 * single trailing `/` so that matching is a case-insensitive segment-prefix test.
 */
export function normalizeRouteSource(source: string): string {
  let s = source.trim();
  if (s.endsWith('*')) s = s.slice(0, -1);
  if (s.length > 1 && s.endsWith('/')) s = s.slice(0, -1);
  return s.endsWith('/') ? s.toLowerCase() : `${s.toLowerCase()}/`;
}

/** `(messageSource.TrimEnd('/') + '/')`, lower-cased: the form route sources are matched against. */
export function normalizeMessageSource(source: string): string {
  let end = source.length;
  while (end > 0 && source.charCodeAt(end - 1) === 47) end--;
  return `${source.slice(0, end).toLowerCase()}/`;
}

/** Does a route source (normalized) match a message source? */
export function sourceMatches(normalizedRouteSource: string, messageSource: string): boolean {
  return normalizeMessageSource(messageSource).startsWith(normalizedRouteSource);
}

/** Is this route source the twin change notification source? */
export function isTwinChangeSource(routeSource: string): boolean {
  return normalizeRouteSource(routeSource) === `${TWIN_CHANGE_SOURCE.toLowerCase()}/`;
}

/**
 * The source path edgeHub assigns to a message (`RoutingMessageConverter.GetMessageSource`):
 * twin change notifications, module outputs, module messages without output, or device telemetry.
 */
export function messageSource(systemProperties: Record<string, string | null>): string {
  const type = getProperty(systemProperties, 'messageType', 'messagetype');
  if (type === 'twinChangeNotification') return TWIN_CHANGE_SOURCE;
  const moduleId = getProperty(systemProperties, 'connectionModuleId', 'connectionmoduleid');
  if (typeof moduleId === 'string' && moduleId.length > 0) {
    const output = getProperty(systemProperties, 'outputName', 'outputname');
    return typeof output === 'string' && output.length > 0 ? `/messages/modules/${moduleId}/outputs/${output}` : `/messages/modules/${moduleId}`;
  }
  return '/messages';
}
