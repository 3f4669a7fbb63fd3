import type { Endpoint } from '../../domain/routing/index.js';

/** Rebuilds an endpoint from the id stored with its queue (`$upstream` or `module/input`). */
export function endpointFromId(id: string): Endpoint {
  if (id === '$upstream') return { type: 'upstream', id: '$upstream' };
  const slash = id.indexOf('/');
  const module = slash < 0 ? id : id.slice(0, slash);
  const input = slash < 0 ? '' : id.slice(slash + 1);
  return { type: 'module', id, module, input };
}
