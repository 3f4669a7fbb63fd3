/**
 * A request the read model or the operator actions cannot carry out: `status` is the HTTP status
 * the management API and the dashboard answer with, the message says what to do.
 */
export class ObserveError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413 | 500 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'ObserveError';
  }
}
