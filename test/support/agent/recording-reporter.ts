import { AgentReporter } from '../../../application/ports/agent-reporter.js';
import { applyReportedPatch } from '../../../domain/deployment/reported-diff.js';

/** Keeps every reported patch and the document they add up to. */
export class RecordingReporter extends AgentReporter {
  readonly patches: Array<Record<string, unknown>> = [];
  document: Record<string, unknown> = {};

  async report(patch: Record<string, unknown>): Promise<void> {
    this.patches.push(patch);
    this.document = applyReportedPatch(this.document, patch);
  }

  /** The reported entry of a module (any: reported JSON is read freely in tests). */
  module(name: string): Record<string, any> | undefined {
    return (this.document['modules'] as Record<string, Record<string, any>> | undefined)?.[name];
  }

  status(): { code: number; description: string } {
    return this.document['lastDesiredStatus'] as { code: number; description: string };
  }
}
