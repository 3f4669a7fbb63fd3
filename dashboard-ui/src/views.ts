/**
 * The read model's JSON as the pages get it (`GET /api/status`, the `status` events): the runtime's
 * own types, so the pages and the server cannot drift apart.
 */
export type {
  ClientView as Client,
  ModuleView as Module,
  QueueView as Queue,
  RouteView as Route,
  StatusView as Status,
  TwinView as Twin,
} from '../../application/observe/read-model-views.js';
