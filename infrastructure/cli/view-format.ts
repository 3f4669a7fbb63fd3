import { formatDuration, formatRate } from '../../domain/text/duration-text.js';
import type { ClientView, QueueView, RouteView, StatusView, TwinView } from '../../application/observe/read-model-views.js';

/**
 * Text of the CLI views (`edgeport status|routes|queues|clients|twin show`) from the read model's
 * JSON. Pure functions of the view and "now", so they are tested without a runtime.
 */

/** Columns padded to the widest cell (two spaces apart); the last column is not padded. */
export { formatDuration };

export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  return table.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]! + 2) : cell)).join('').trimEnd()).join('\n') + '\n';
}

const rate = formatRate;

export function formatRoutes(routes: readonly RouteView[]): string {
  if (routes.length === 0) return 'no routes (the deployment has none yet)\n';
  return formatTable(
    ['NAME', 'PRIORITY', 'MESSAGES', 'MSG/S', 'ROUTE'],
    routes.map((r) => [r.name, r.priority, String(r.total), rate(r.perSecond), r.route]),
  );
}

export function formatQueues(queues: readonly QueueView[], now: number): string {
  if (queues.length === 0) return 'no queues (nothing was routed yet)\n';
  return formatTable(
    ['ENDPOINT', 'PRIORITY', 'DEPTH', 'OLDEST', 'IN/S', 'OUT/S', 'IN', 'OUT', 'LAST ERROR'],
    queues.map((q) => [
      q.endpoint,
      q.priority,
      String(q.depth),
      q.oldestAgeMs === undefined ? '-' : formatDuration(q.oldestAgeMs),
      rate(q.inPerSecond),
      rate(q.outPerSecond),
      String(q.inTotal),
      String(q.outTotal),
      q.lastError === undefined ? '' : `${formatDuration(now - q.lastError.at)} ago: ${q.lastError.message}`,
    ]),
  );
}

export function formatClients(clients: readonly ClientView[], now: number): string {
  if (clients.length === 0) return 'no clients connected\n';
  return formatTable(
    ['ID', 'PROTOCOL', 'CONNECTED', 'MESSAGES IN', 'MESSAGES OUT'],
    clients.map((c) => [c.id, c.protocol, `${formatDuration(now - c.since)} ago`, String(c.messagesIn), String(c.messagesOut)]),
  );
}

export function formatTwin(twin: TwinView): string {
  return `twin ${twin.id}\ndesired:\n${JSON.stringify(twin.desired, null, 2)}\nreported:\n${JSON.stringify(twin.reported, null, 2)}\n`;
}

/** `edgeport status`: runtime, deployment, modules, queues, upstream, clients on one screen. */
export function formatStatus(view: StatusView): string {
  const { runtime } = view;
  const now = runtime.now;
  const roles = [runtime.hub ? 'hub' : '', runtime.agent ? 'agent' : ''].filter((r) => r !== '').join(' + ');
  let text = `edgeport ${runtime.version} on ${runtime.deviceId}: up ${formatDuration(now - runtime.startedAt)} (${roles}${runtime.standalone ? ', standalone' : ''})\n`;
  const d = view.deployment;
  if (d !== undefined) text += `deployment: ${d.version === undefined ? 'none yet' : `version ${d.version}`}, status ${d.code}${d.description === '' ? '' : `: ${d.description}`}\n`;
  if (view.upstream !== undefined) {
    const u = view.upstream;
    text += `upstream (${u.kind}): ${u.connected ? 'connected' : 'DISCONNECTED'} for ${formatDuration(now - u.since)}, backlog ${u.backlog}, lost ${u.offlineCount} times`;
    text += u.lastError === undefined ? '\n' : `; last error ${formatDuration(now - u.lastError.at)} ago: ${u.lastError.message}\n`;
  } else if (runtime.hub) text += 'upstream: none (standalone)\n';
  text += `clients: ${view.clients.length} connected\n`;
  if (runtime.agent) {
    text += '\n';
    text += formatTable(
      ['MODULE', 'STATUS', 'UPTIME', 'RESTARTS', 'EXIT', 'DESCRIPTION'],
      view.modules.map((m) => [m.name, m.status, m.uptimeSeconds === undefined ? '-' : formatDuration(m.uptimeSeconds * 1000), String(m.restartCount), String(m.exitCode), m.description]),
    );
  }
  if (runtime.hub) text += `\n${formatQueues(view.queues, now)}`;
  return text;
}
