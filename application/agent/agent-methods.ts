import { inject, injectable } from 'inversify';
import { parseLogTime } from '../../domain/modules/log-time.js';
import { Clock } from '../ports/clock.js';
import { ModuleRuntime, type LogLine, type LogOptions } from '../ports/module-runtime.js';
import { AgentSettings } from './agent-settings.js';

/** A direct-method answer: IoT Hub's `{status, payload}`. */
export interface MethodResponse {
  status: number;
  payload: unknown;
}

/** One module's logs in a `GetModuleLogs` answer. */
export interface ModuleLogs {
  id: string;
  /** `contentType: "text"`: the lines joined by `\n`; `"json"`: one object per line. */
  payload: string | Array<{ id: string; stream: string; loglevel: number; timestamp: string; text: string }>;
}

class MethodError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Syslog severity from a `<N>` prefix (the format modules log in); 6 (info) without one. */
export function logLevelOf(text: string): number {
  const match = /^<([0-7])>/.exec(text);
  return match === null ? 6 : Number(match[1]);
}

/**
 * The `$edgeAgent` direct methods that need only the module runtime (Azure `Agent.Core/requests`):
 * `ping`, `RestartModule` (`{"schemaVersion": "1.0", "id": "<module>"}`: stop and start, not
 * counted as a policy restart) and `GetModuleLogs` (`items[{id: regex, filter{tail, since, until,
 * loglevel, regex}}]`, `encoding: "none"`, `contentType: "text" | "json"`). Upload methods and
 * gzip encoding come with the upstream connection.
 */
@injectable()
export class AgentMethods {
  constructor(
    @inject(ModuleRuntime) private readonly runtime: ModuleRuntime,
    @inject(Clock) private readonly clock: Clock,
    @inject(AgentSettings) private readonly settings: AgentSettings,
  ) {}

  async invoke(method: string, payload: unknown): Promise<MethodResponse> {
    try {
      switch (method.toLowerCase()) {
        case 'ping':
          return { status: 200, payload: null };
        case 'restartmodule':
          await this.restartModule(payload);
          return { status: 200, payload: null };
        case 'getmodulelogs':
          return { status: 200, payload: await this.getModuleLogs(payload) };
        default:
          return { status: 501, payload: { message: `method ${method} is not implemented by the edge agent` } };
      }
    } catch (error) {
      const status = error instanceof MethodError ? error.status : 500;
      return { status, payload: { message: (error as Error).message } };
    }
  }

  private async restartModule(payload: unknown): Promise<void> {
    if (!isObject(payload) || typeof payload['id'] !== 'string' || payload['id'].trim() === '') {
      throw new MethodError(400, 'RestartModule expects {"schemaVersion": "1.0", "id": "<module name>"}');
    }
    const id = payload['id'];
    if (id === 'edgeAgent' || id === '$edgeAgent') throw new MethodError(400, 'the edge agent cannot restart itself');
    const modules = await this.runtime.list();
    if (!modules.some((m) => m.name === id)) throw new MethodError(404, `module ${id} does not exist`);
    await this.runtime.stop(id, this.settings.stopTimeoutMs);
    await this.runtime.start(id);
  }

  private async getModuleLogs(payload: unknown): Promise<ModuleLogs[]> {
    if (!isObject(payload) || !Array.isArray(payload['items'])) {
      throw new MethodError(400, 'GetModuleLogs expects {"schemaVersion": "1.0", "items": [{"id": "<module regex>", "filter": {...}}]}');
    }
    const encoding = payload['encoding'] ?? 'none';
    if (encoding !== 'none') throw new MethodError(400, `encoding ${String(encoding)} is not supported yet; use "none"`);
    const contentType = payload['contentType'] ?? 'text';
    if (contentType !== 'text' && contentType !== 'json') throw new MethodError(400, `contentType must be "text" or "json" (got ${String(contentType)})`);
    const modules = (await this.runtime.list()).map((m) => m.name);
    const now = this.clock.now();
    const answers: ModuleLogs[] = [];
    for (const item of payload['items']) {
      if (!isObject(item) || typeof item['id'] !== 'string') throw new MethodError(400, 'every item needs an "id" (a module name regex)');
      let idPattern: RegExp;
      try {
        idPattern = new RegExp(`^(?:${item['id']})$`);
      } catch (error) {
        throw new MethodError(400, `item id ${item['id']} is not a valid regular expression: ${(error as Error).message}`);
      }
      const filter = isObject(item['filter']) ? item['filter'] : {};
      const options = this.logOptions(filter, now);
      const level = typeof filter['loglevel'] === 'number' ? filter['loglevel'] : undefined;
      let textPattern: RegExp | undefined;
      if (typeof filter['regex'] === 'string') {
        try {
          textPattern = new RegExp(filter['regex']);
        } catch (error) {
          throw new MethodError(400, `filter regex is not valid: ${(error as Error).message}`);
        }
      }
      for (const name of modules.filter((m) => idPattern.test(m))) {
        const lines: LogLine[] = [];
        for await (const line of this.runtime.logs(name, options)) {
          if (level !== undefined && logLevelOf(line.text) !== level) continue;
          if (textPattern !== undefined && !textPattern.test(line.text)) continue;
          lines.push(line);
        }
        answers.push({
          id: name,
          payload:
            contentType === 'text'
              ? lines.map((l) => l.text).join('\n')
              : lines.map((l) => ({ id: name, stream: l.stream, loglevel: logLevelOf(l.text), timestamp: new Date(l.time).toISOString(), text: l.text })),
        });
      }
    }
    return answers;
  }

  private logOptions(filter: Record<string, unknown>, now: number): LogOptions {
    const options: LogOptions = {};
    const tail = filter['tail'];
    if (tail !== undefined && tail !== null) {
      if (typeof tail !== 'number' || !Number.isInteger(tail) || tail < 0) throw new MethodError(400, `filter tail must be a non-negative integer (got ${JSON.stringify(tail)})`);
      options.tail = tail;
    }
    for (const key of ['since', 'until'] as const) {
      const raw = filter[key];
      if (raw === undefined || raw === null) continue;
      const time = typeof raw === 'string' || typeof raw === 'number' ? parseLogTime(raw, now) : undefined;
      if (time === undefined) throw new MethodError(400, `filter ${key} must be Unix seconds, an RFC 3339 time or a duration such as "1 day" (got ${JSON.stringify(raw)})`);
      options[key] = time;
    }
    return options;
  }
}
