/**
 * The parts of the read model's JSON (`application/observe/read-model-views.ts`, served by
 * `GET /api/status` and the `status` events) that the pages show. The runtime's types cannot be
 * imported here (they sit in the server's program), so this is the page's side of the contract.
 */
export interface Module {
  name: string;
  status: string;
  description: string;
  restartCount: number;
  exitCode: number;
  config: string;
  system: boolean;
  uptimeSeconds?: number;
  restartAt?: number;
}

export interface Route {
  name: string;
  route: string;
  priority: string;
  total: number;
  perSecond: number;
  history: number[];
}

export interface Queue {
  endpoint: string;
  priority: string;
  depth: number;
  oldestAgeMs?: number;
  inTotal: number;
  outTotal: number;
  inPerSecond: number;
  outPerSecond: number;
  inHistory: number[];
  outHistory: number[];
  lastError?: { message: string; at: number };
}

export interface Client {
  id: string;
  protocol: string;
  since: number;
  messagesIn: number;
  messagesOut: number;
}

export interface Status {
  runtime: { deviceId: string; version: string; startedAt: number; now: number; hub: boolean; agent: boolean; standalone: boolean };
  deployment?: { code: number; description: string; version?: number };
  modules: Module[];
  queues: Queue[];
  routes: Route[];
  clients: Client[];
  upstream?: { kind: string; connected: boolean; since: number; offlineCount: number; backlog: number; lastError?: { message: string; at: number } };
}

export interface Twin {
  id: string;
  desired: Record<string, unknown>;
  reported: Record<string, unknown>;
}
