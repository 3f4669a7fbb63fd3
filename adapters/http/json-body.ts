import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { HttpError } from './http-errors.js';

/** Default request body limit of the local APIs. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/**
 * Reads a JSON request body of at most `limit` bytes and checks it with `schema`. Rejects with an
 * `HttpError`: 413 when it is larger, 400 when it is not JSON or does not fit the schema (the
 * message lists every problem, from the schema's own messages).
 */
export async function readJsonBody<S extends z.ZodType>(request: IncomingMessage, schema: S, limit = DEFAULT_BODY_LIMIT): Promise<z.output<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `the request body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    // Not JSON: let the schema say what it expects (its message for a wrong type names the shape).
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new HttpError(400, [...new Set(parsed.error.issues.map((issue) => issue.message))].join('; '));
  return parsed.data;
}
