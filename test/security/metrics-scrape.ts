import type { AttackedHub } from './attacked-hub.js';

/** `edgeport_connections_refused_total` of the hub by `listener/reason`, from its /metrics endpoint. */
export async function refusedCounts(hub: AttackedHub): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${hub.ports.metrics}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^edgeport_connections_refused_total\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    counts[`${labels['listener']}/${labels['reason']}`] = Number(match[2]);
  }
  return counts;
}
