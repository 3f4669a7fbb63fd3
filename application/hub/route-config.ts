import { injectable } from 'inversify';
import { RouteTable, type RouteSpec } from '../../domain/routing/index.js';

export type RouteUpdate = { ok: true; size: number } | { ok: false; error: string };

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

  replace(routes: Record<string, RouteSpec>): RouteUpdate {
    try {
      this.current = RouteTable.compile(routes);
      this.currentSpecs = { ...routes };
      return { ok: true, size: this.current.size };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
