import { injectable } from 'inversify';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import type { ClientChannel } from '../ports/client-channel.js';

export type ClientChangeListener = (identity: Identity) => void;

/**
 * The clients connected right now, by identity (at most one connection per identity: a new
 * connection takes over, as in edgeHub, iotedge-semantics.md §8). Protocol heads register and
 * unregister channels and report subscription changes; services look channels up and listen to
 * changes (the endpoint pumps wake up when a module starts listening to its inputs).
 */
@injectable()
export class ClientDirectory {
  private readonly channels = new Map<string, ClientChannel>();
  private readonly listeners = new Set<ClientChangeListener>();

  get(identity: Identity): ClientChannel | undefined {
    return this.channels.get(formatIdentity(identity));
  }

  /** Registers `channel`, replacing (taking over from) any previous one of the same identity. */
  register(channel: ClientChannel): void {
    this.channels.set(formatIdentity(channel.identity), channel);
    this.changed(channel.identity);
  }

  /** Removes `channel` if it is still the registered one (a takeover may have replaced it). */
  unregister(channel: ClientChannel): void {
    const key = formatIdentity(channel.identity);
    if (this.channels.get(key) === channel) {
      this.channels.delete(key);
      this.changed(channel.identity);
    }
  }

  /** A head calls this when what a registered client listens to changed. */
  changed(identity: Identity): void {
    for (const listener of this.listeners) listener(identity);
  }

  onChange(listener: ClientChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connected(): ClientChannel[] {
    return [...this.channels.values()];
  }
}
