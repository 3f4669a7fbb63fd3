import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import type { Logger } from '../../application/ports/logger.js';
import { HttpError, sendError } from './http-errors.js';

/** One routed request: the path parameters (percent-decoded) and the query. */
export interface RouteRequest {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
}

/** Serves one route; throwing an `HttpError` answers it in the shared error shape. */
export type RouteHandler = (route: RouteRequest) => Promise<void> | void;

type Method = FindMyWay.HTTPMethod;

export interface HttpRouterOptions {
  /** What the API is called in error messages: `management API`, `workload API`, `HTTPS`. */
  readonly name: string;
  readonly log: Logger;
  /** Turns errors of the use cases into answers (their own status and code); undefined: a 500. */
  readonly translate?: (error: unknown) => HttpError | undefined;
  /** Whether a 500 carries the error's message (local management socket) or just `internal error`. */
  readonly exposeInternalErrors?: boolean;
}

/**
 * The router of Edgeport's HTTP APIs (management and workload on unix sockets, module methods on
 * HTTPS), on `find-my-way` (fastify's radix-tree router): paths such as `/modules/:module/logs`,
 * parameters percent-decoded (an encoded `/` stays inside its parameter), a trailing slash ignored.
 * Unknown paths answer 404 and known paths with another method 405 (with `Allow`), every error in
 * the shape `{"code", "message"}`. Routes can be added from any file that holds the router (more
 * management endpoints register themselves this way).
 */
export class HttpRouter {
  private readonly router = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 1024 });
  private readonly methods = new Set<Method>();

  constructor(private readonly options: HttpRouterOptions) {}

  on(method: Method | readonly Method[], path: string, handler: RouteHandler): void {
    const methods = typeof method === 'string' ? [method] : [...method];
    for (const m of methods) this.methods.add(m);
    // The handler travels as the route's store; find-my-way's own handler slot is not used.
    this.router.on(methods, path, () => undefined, handler);
  }

  /** Serves `request`: its route, else 404/405; never rejects (failures are answered and logged). */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase() as Method;
    const url = new URL(request.url ?? '/', 'http://local');
    try {
      const found = this.router.find(method, url.pathname);
      if (found === null) throw this.unrouted(method, url.pathname);
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(found.params)) if (value !== undefined) params[name] = value;
      await (found.store as RouteHandler)({ request, response, params, query: url.searchParams });
    } catch (error) {
      sendError(response, this.answerFor(error, method, url.pathname));
    }
  }

  /** 405 with `Allow` when the path has routes for other methods, 400 for a malformed escape, else 404. */
  private unrouted(method: Method, path: string): HttpError {
    let decodable = true;
    try {
      decodeURIComponent(path);
    } catch {
      decodable = false;
    }
    if (!decodable) return new HttpError(400, `malformed path: ${path}`);
    const allowed = [...this.methods].filter((m) => m !== method && this.router.find(m, path) !== null);
    if (allowed.length > 0) return new HttpError(405, `${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, undefined, { allow: allowed.join(', ') });
    return new HttpError(404, `no such ${this.options.name} resource: ${method} ${path}`);
  }

  private answerFor(error: unknown, method: string, path: string): HttpError {
    if (error instanceof HttpError) return error;
    const translated = this.options.translate?.(error);
    if (translated !== undefined) return translated;
    const message = error instanceof Error ? error.message : String(error);
    this.options.log.error(`${this.options.name} request failed: ${message}`, { method, path });
    return new HttpError(500, this.options.exposeInternalErrors === true ? message : 'internal error');
  }
}
