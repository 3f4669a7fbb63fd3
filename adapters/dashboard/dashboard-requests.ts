import { z } from 'zod';
import type { CloudToDeviceRequest } from '../../application/hub/cloud-to-device-service.js';
import type { JsonValue } from '../../domain/twins/json.js';

/** Bodies of the dashboard's forms, validated before anything runs (a refusal names the field). */

const methodCall = z
  .object({
    target: z.string().min(1, 'target is required: <deviceId> or <deviceId>/<moduleId>'),
    methodName: z.string().min(1, 'methodName is required'),
    payload: z.json().optional(),
    timeoutSeconds: z.number().positive('timeoutSeconds must be positive').max(300, 'timeoutSeconds is at most 300').optional(),
  })
  .strict();

const cloudToDevice = z
  .object({
    deviceId: z.string().min(1, 'deviceId is required'),
    body: z.string().max(64 * 1024, 'body is at most 64 KB'),
    properties: z.record(z.string(), z.string()).optional(),
    messageId: z.string().optional(),
    contentType: z.string().optional(),
  })
  .strict();

const desiredPatch = z.object({ patch: z.record(z.string(), z.json()) }).strict();

export type MethodCallForm = { target: string; methodName: string; payload: JsonValue | undefined; timeoutMs?: number };

function parse<T>(schema: z.ZodType<T>, body: unknown): T | string {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  return result.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

export function parseMethodForm(body: unknown): MethodCallForm | string {
  const form = parse(methodCall, body);
  if (typeof form === 'string') return form;
  const call: MethodCallForm = { target: form.target, methodName: form.methodName, payload: form.payload as JsonValue | undefined };
  if (form.timeoutSeconds !== undefined) call.timeoutMs = form.timeoutSeconds * 1000;
  return call;
}

export function parseCloudToDeviceForm(body: unknown): CloudToDeviceRequest | string {
  const form = parse(cloudToDevice, body);
  if (typeof form === 'string') return form;
  return {
    deviceId: form.deviceId,
    body: new TextEncoder().encode(form.body),
    ...(form.properties !== undefined ? { properties: form.properties } : {}),
    ...(form.messageId !== undefined ? { messageId: form.messageId } : {}),
    ...(form.contentType !== undefined ? { contentType: form.contentType } : {}),
  };
}

export function parseDesiredForm(body: unknown): Record<string, unknown> | string {
  const form = parse(desiredPatch, body);
  return typeof form === 'string' ? form : form.patch;
}
