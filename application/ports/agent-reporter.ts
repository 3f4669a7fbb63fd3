/**
 * Receives the `$edgeAgent` reported-properties patches (only what changed; `null` deletes). The
 * upstream twin will send them to IoT Hub; until then they may only be logged or kept locally.
 */
export abstract class AgentReporter {
  abstract report(patch: Record<string, unknown>): Promise<void>;
}
