import { injectable } from 'inversify';
import { RouteTable, routeWarnings, type RouteSpec, type RouteWarning, type RouteWarningOptions } from '../../domain/routing/index.js';

/** A route set applied (with what looks wrong but is valid), or refused (the old set stays). */
export type RouteUpdate = { ok: true; size: number; warnings: RouteWarning[] } | { ok: false; error: string };

/** The live route table. A new route set replaces it atomically; an invalid set keeps the old one. */
@injectable()
export class RouteConfig {
  private current: RouteTable = RouteTable.compile({});
  private currentSpecs: Readonly<Record<string, RouteSpec>> = {};

  get table(): RouteTable {
    return this.current;
  }

  /** The route specifications the table was compiled from (for the read model). */
  get specs(): Readonly<Record<string, RouteSpec>> {
    return this.currentSpecs;
  }

  replace(routes: Record<string, RouteSpec>, options: RouteWarningOptions = {}): RouteUpdate {
    try {
      this.current = RouteTable.compile(routes);
      this.currentSpecs = { ...routes };
      return { ok: true, size: this.current.size, warnings: routeWarnings(this.current, options) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
