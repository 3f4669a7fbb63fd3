import { compileConditionTree, type ConditionEvaluator } from './condition-compiler.js';
import { conditionWarnings, type RouteWarning } from './condition-warnings.js';
import { parseConditionTokens } from './condition-parser.js';
import { RouteError, RouteSyntaxError } from './errors.js';
import { EvalContext, type ConditionMessage } from './eval-context.js';
import { tokenize } from './lexer.js';
import { isTwinChangeSource } from './message-source.js';

export interface CompileConditionOptions {
  /** The message source path of the route (`/messages` by default); `/twinChangeNotifications` enables `twin_change_includes`. */
  readonly source?: string;
}

export interface CompiledCondition {
  /** true, false, or undefined (the language's Undefined). Never throws. */
  evaluate(message: ConditionMessage): boolean | undefined;
  /** Valid but suspicious parts (e.g. `temp > 100`, which can never be true): see `RouteWarning`. */
  readonly warnings: readonly RouteWarning[];
}

/** Runs a compile step, turning an engine stack overflow (absurd input) into a typed error. */
export function guardCompile<T>(compile: () => T): T {
  try {
    return compile();
  } catch (error) {
    if (error instanceof RouteError) throw error;
    if (error instanceof RangeError) {
      throw new RouteSyntaxError('ROUTE_SYNTAX', 'Syntax error: the text is too complex to compile', { line: 1, column: 1 });
    }
    throw error;
  }
}

/** Compiles a condition once to closures; `evaluate` then costs a few closure calls per message. */
export function compileCondition(text: string, options?: CompileConditionOptions): CompiledCondition {
  if (typeof text !== 'string') throw new RouteSyntaxError('ROUTE_SYNTAX', 'Syntax error: a condition must be a string');
  const twinChangeSource = isTwinChangeSource(options?.source ?? '/messages');
  const tree = guardCompile(() => compileConditionTree(parseConditionTokens(tokenize(text)), { twinChangeSource }));
  return new Condition(tree.evaluate, conditionWarnings(tree));
}

class Condition implements CompiledCondition {
  private readonly context = new EvalContext();

  constructor(
    private readonly evaluator: ConditionEvaluator,
    readonly warnings: readonly RouteWarning[],
  ) {}

  /** An arrow property, so `const { evaluate } = compileCondition(...)` works too. */
  readonly evaluate = (message: ConditionMessage): boolean | undefined => {
    // One reusable context; a fresh one only if evaluate is re-entered.
    const context = this.context.busy ? new EvalContext() : this.context;
    context.busy = true;
    context.reset(message);
    // Compiled closures do not throw (if one ever did, `busy` stays set and later calls use fresh contexts).
    const result = this.evaluator(context);
    context.clear();
    context.busy = false;
    return result;
  };
}
