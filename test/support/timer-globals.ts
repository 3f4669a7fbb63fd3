import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse, type Node } from 'acorn';
import { simple } from 'acorn-walk';

/**
 * Timer globals that bypass the `Clock` port: time-based and turn-based scheduling alike.
 * (`queueMicrotask` stays allowed: a microtask is not a wait, it runs before any I/O.)
 */
export const TIMER_GLOBALS: ReadonlySet<string> = new Set(['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate']);
/** Objects through which a global can be reached without naming it (`globalThis.setTimeout`). */
const GLOBAL_OBJECTS: ReadonlySet<string> = new Set(['globalThis', 'global', 'self', 'window']);

export interface TimerUse {
  /** Path relative to the scanned root, e.g. `dist/application/hub/x.js`. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** What was found: `setTimeout`, `globalThis.setImmediate`, `Date.now()`, `new Date()`, ... */
  readonly what: string;
}

type Located = Node;

type Expression = Located & { type: string; name?: string; value?: unknown; computed?: boolean; object?: Expression; property?: Expression; callee?: Expression; arguments?: unknown[] };

/** `name` for an identifier, or the string of a computed `['name']` key. */
function nameOf(node: Expression | undefined, computed: boolean): string | undefined {
  if (node === undefined) return undefined;
  if (!computed && node.type === 'Identifier') return node.name;
  if (computed && node.type === 'Literal' && typeof node.value === 'string') return node.value;
  return undefined;
}

/**
 * Every use of a timer global or a clock read in one compiled ES module. It parses the code (acorn),
 * so comments, strings and property names (`clock.setTimeout`, `{ setImmediate: 1 }`) never count;
 * identifier references do, and so do `globalThis.x`/`globalThis['x']`, `Date.now()`,
 * `performance.now()` and `new Date()` without arguments (reading the wall clock; `new Date(ms)` is
 * formatting and allowed). A local binding that shadows a timer name still counts: a reader could
 * not tell them apart either.
 */
export function timerUsesIn(source: string, file: string): TimerUse[] {
  const uses: TimerUse[] = [];
  const add = (node: Located, what: string): void => {
    uses.push({ file, line: node.loc?.start.line ?? 0, column: (node.loc?.start.column ?? 0) + 1, what });
  };
  const ast = parse(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true });
  simple(ast, {
    Identifier(node) {
      const name = (node as Expression).name;
      if (name !== undefined && TIMER_GLOBALS.has(name)) add(node, name);
    },
    MemberExpression(node) {
      const member = node as unknown as Expression;
      const object = member.object;
      const property = nameOf(member.property, member.computed === true);
      if (object?.type !== 'Identifier' || property === undefined) return;
      if (GLOBAL_OBJECTS.has(object.name ?? '') && TIMER_GLOBALS.has(property)) add(node, `${object.name}.${property}`);
      if ((object.name === 'Date' || object.name === 'performance') && property === 'now') add(node, `${object.name}.now()`);
    },
    NewExpression(node) {
      const created = node as unknown as Expression;
      if (created.callee?.type === 'Identifier' && created.callee.name === 'Date' && (created.arguments ?? []).length === 0) add(node, 'new Date()');
    },
    CallExpression(node) {
      // `Date()` without `new` returns the current time as text.
      const call = node as unknown as Expression;
      if (call.callee?.type === 'Identifier' && call.callee.name === 'Date') add(node, 'Date()');
    },
  });
  return uses;
}

async function jsFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries.filter((e) => e.isFile() && e.name.endsWith('.js')).map((e) => join(e.parentPath, e.name)).sort();
}

/** Timer uses in every `.js` file under `folders` (relative to `root`), e.g. `dist/domain`, `dist/application`. */
export async function findTimerUses(root: string, folders: readonly string[]): Promise<TimerUse[]> {
  const uses: TimerUse[] = [];
  for (const folder of folders) {
    for (const path of await jsFiles(join(root, folder))) {
      uses.push(...timerUsesIn(await readFile(path, 'utf8'), relative(root, path)));
    }
  }
  return uses;
}

export function formatTimerUse(use: TimerUse): string {
  return `${use.file}:${use.line}:${use.column} uses ${use.what}: take time and turns from the Clock port (application/ports/clock.ts)`;
}
