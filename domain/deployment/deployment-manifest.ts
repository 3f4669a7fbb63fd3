import { parseAgentDesired, type DeploymentConfig } from './agent-desired.js';
import { configFormatError, EMPTY_CONFIGURATION, type ManifestProblem, type ParseResult } from './deployment-status.js';
import { parseHubDesired, type EdgeHubDesired } from './hub-desired.js';
import { describe, isObject, type JsonObject } from './problems.js';
import { readManifestIntegrity, type ManifestIntegrityResult } from '../trust/manifest-integrity.js';
import { utf8Length } from '../twins/json.js';

export const DESIRED_KEY = 'properties.desired';

/**
 * The largest deployment manifest accepted (2 MiB): room for what IoT Hub can hold (32 KB of
 * desired properties per module twin, at most 50 modules plus `$edgeAgent` and `$edgeHub` per
 * deployment: about 1.7 MB), while a runaway file is refused before it is parsed.
 */
export const MAX_MANIFEST_BYTES = 2 * 1024 * 1024;

/** The 400 description for a manifest over `MAX_MANIFEST_BYTES` (also used before reading a file). */
export function manifestTooLarge(bytes: number): string {
  return `the deployment manifest is ${bytes} bytes; at most ${MAX_MANIFEST_BYTES} bytes (2 MiB) are accepted`;
}

/** A whole deployment (`{"modulesContent": {...}}`), each part validated on its own. */
export interface ParsedDeployment {
  /** `$edgeAgent`: drives the agent and its `lastDesiredStatus`. */
  agent: ParseResult<DeploymentConfig>;
  /** `$edgeHub`: `undefined` when the deployment has no `$edgeHub` section. */
  hub?: ParseResult<EdgeHubDesired>;
  /** `<module>.properties.desired` for every other section: initial module twins. */
  moduleTwins: Record<string, JsonObject>;
  /** Sections that are not `{"properties.desired": {...}}`; they do not affect the agent's status. */
  moduleTwinProblems: ManifestProblem[];
  /** `$version` of `$edgeAgent` desired properties, when given. */
  agentDesiredVersion?: number;
  /** `$version` of `$edgeHub` desired properties when they come from the `$edgeHub` twin. */
  hubDesiredVersion?: number;
  /** The signature of the `$edgeAgent` desired properties (`integrity`), when they are an object. */
  agentIntegrity?: ManifestIntegrityResult;
}

function invalid(message: string): ParsedDeployment {
  return { agent: { ok: false, status: configFormatError([{ path: '', message }]) }, moduleTwins: {}, moduleTwinProblems: [] };
}

/**
 * Splits a deployment manifest into its sections. Accepts `{"modulesContent": ...}` and the
 * `az iot edge deployment` layout `{"content": {"modulesContent": ...}}`. No `$edgeAgent` (or an
 * empty one) is 417, like an empty agent twin.
 */
export function parseDeploymentManifest(document: unknown): ParsedDeployment {
  if (!isObject(document)) return invalid(`a deployment manifest must be a JSON object (got ${describe(document)})`);
  const content = isObject(document['content']) && document['modulesContent'] === undefined ? document['content'] : document;
  if (Object.keys(content).length === 0) return { agent: { ok: false, status: EMPTY_CONFIGURATION }, moduleTwins: {}, moduleTwinProblems: [] };
  const modulesContent = content['modulesContent'];
  if (!isObject(modulesContent)) return invalid(`modulesContent: expected an object (got ${describe(modulesContent)})`);

  const sectionDesired = (name: string): unknown => {
    const section = modulesContent[name];
    return isObject(section) ? section[DESIRED_KEY] : undefined;
  };

  const agentSection = modulesContent['$edgeAgent'];
  if (agentSection !== undefined && !isObject(agentSection)) return invalid(`modulesContent.$edgeAgent: expected {"${DESIRED_KEY}": {...}} (got ${describe(agentSection)})`);
  const agentDesired = sectionDesired('$edgeAgent');
  const result: ParsedDeployment = { agent: parseAgentDesired(agentDesired), moduleTwins: {}, moduleTwinProblems: [] };
  if (isObject(agentDesired) && typeof agentDesired['$version'] === 'number') result.agentDesiredVersion = agentDesired['$version'];
  if (isObject(agentDesired)) result.agentIntegrity = readManifestIntegrity(agentDesired);

  if (modulesContent['$edgeHub'] !== undefined) result.hub = parseHubDesired(sectionDesired('$edgeHub'));

  for (const [name, section] of Object.entries(modulesContent)) {
    if (name === '$edgeAgent' || name === '$edgeHub') continue;
    const desired = isObject(section) ? section[DESIRED_KEY] : undefined;
    if (isObject(desired)) result.moduleTwins[name] = desired;
    else result.moduleTwinProblems.push({ path: `modulesContent.${name}`, message: `expected {"${DESIRED_KEY}": {...}}` });
  }
  return result;
}

/** What a manifest over `MAX_MANIFEST_BYTES` parses to: 400 naming its size (the previous deployment keeps running). */
export function oversizedManifest(bytes: number): ParsedDeployment {
  return invalid(manifestTooLarge(bytes));
}

/** `parseDeploymentManifest` for text: invalid JSON is a 400 naming the JSON error. */
export function parseDeploymentManifestText(text: string): ParsedDeployment {
  // Characters never outnumber UTF-8 bytes: the exact count only when it can matter.
  if (text.length > MAX_MANIFEST_BYTES || (text.length * 3 > MAX_MANIFEST_BYTES && utf8Length(text) > MAX_MANIFEST_BYTES)) return oversizedManifest(utf8Length(text));
  if (text.trim() === '') return { agent: { ok: false, status: EMPTY_CONFIGURATION }, moduleTwins: {}, moduleTwinProblems: [] };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return invalid(`the deployment manifest is not valid JSON (${(error as Error).message})`);
  }
  return parseDeploymentManifest(document);
}

/**
 * The agent's view when the deployment arrives as the `$edgeAgent` twin (desired properties only,
 * no envelope): the shape a twin-backed `DeploymentSource` produces.
 */
export function parseAgentTwinDesired(desired: unknown): ParsedDeployment {
  const result: ParsedDeployment = { agent: parseAgentDesired(desired), moduleTwins: {}, moduleTwinProblems: [] };
  if (isObject(desired) && typeof desired['$version'] === 'number') result.agentDesiredVersion = desired['$version'];
  if (isObject(desired)) result.agentIntegrity = readManifestIntegrity(desired);
  return result;
}
