import { injectable } from 'inversify';
import { RouteTable, routeWarnings, type RouteSpec, type RouteWarning, type RouteWarningOptions } from '../../domain/routing/index.js';

/** A route set applied (with what looks wrong but is valid), or refused (the old set stays). */
export type RouteUpdate = { ok: true; size: number; warnings: RouteWarning[] } | { ok: false; error: string };

/** The live route table. A new route set replaces it atomically; an invalid set keeps the old one. */
@injectable()
export class RouteConfig {
  private current: RouteTable = RouteTable.compile({});

  get table(): RouteTable {
    return this.current;
  }

  replace(routes: Record<string, RouteSpec>, options: RouteWarningOptions = {}): RouteUpdate {
    try {
      this.current = RouteTable.compile(routes);
      return { ok: true, size: this.current.size, warnings: routeWarnings(this.current, options) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
