import type { Identity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonObject } from '../../domain/twins/json.js';
import type { ClientChannel, ClientFeature } from '../../application/ports/client-channel.js';

/** A `ClientChannel` in memory for application tests: records what it is sent; the test acknowledges or fails deliveries. */
export class FakeChannel implements ClientChannel {
  readonly protocol = 'fake';
  readonly features = new Set<ClientFeature>();
  readonly inputs: Array<{ input: string; message: Message; ack: () => void; fail: (e: Error) => void }> = [];
  readonly c2d: Array<{ message: Message; ack: () => void; fail: (e: Error) => void }> = [];
  readonly desired: Array<{ patch: JsonObject; version: number }> = [];
  readonly methods: Array<{ name: string; rid: string; payload: string }> = [];
  constructor(readonly identity: Identity) {}
  has(feature: ClientFeature): boolean {
    return this.features.has(feature);
  }
  sendInput(input: string, message: Message): Promise<void> {
    return new Promise((resolve, reject) => this.inputs.push({ input, message, ack: resolve, fail: reject }));
  }
  sendC2d(message: Message): Promise<void> {
    return new Promise((resolve, reject) => this.c2d.push({ message, ack: resolve, fail: reject }));
  }
  sendDesiredPatch(patch: JsonObject, version: number): void {
    this.desired.push({ patch, version });
  }
  sendMethodRequest(name: string, rid: string, payload: Uint8Array): void {
    this.methods.push({ name, rid, payload: new TextDecoder().decode(payload) });
  }
}
