import type { EventContext, Receiver, Sender } from 'rhea';
import { UpstreamError } from '../../application/ports/upstream.js';

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An AMQP error condition (`{condition, description}`) as text for logs and errors. */
export function conditionText(condition: unknown): string {
  if (condition === undefined || condition === null) return '';
  const { description, condition: name } = condition as { description?: unknown; condition?: unknown };
  return String(description ?? name ?? condition);
}

/** Whether the peer closed or refused a link for an expired or refused token (put a token again). */
export function isUnauthorized(condition: unknown): boolean {
  return /unauthorized/.test(JSON.stringify(condition ?? ''));
}

/** Links open when the peer attached back (`*_open`), rejected when it refuses or the connection drops. */
export function whenOpen(link: Sender | Receiver): Promise<void> {
  if (link.is_open()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const opened = link.is_receiver() ? 'receiver_open' : 'sender_open';
    const failed = link.is_receiver() ? 'receiver_error' : 'sender_error';
    const closed = link.is_receiver() ? 'receiver_close' : 'sender_close';
    const done = (): void => {
      link.removeListener(opened, onOpen);
      link.removeListener(failed, onFail);
      link.removeListener(closed, onFail);
      link.connection.removeListener('disconnected', onFail);
    };
    const onOpen = (): void => {
      // A refused attach comes back with a null terminus and is detached next (AMQP 1.0 §2.6.3): wait for that detach.
      // rhea decodes a null terminus as an empty one: no address (IoT Hub and Edgeport always echo the address).
      const remote = (link as unknown as { remote?: { attach?: { source?: { address?: unknown } | null; target?: { address?: unknown } | null } } }).remote?.attach;
      if (remote !== undefined && (link.is_sender() ? remote.target : remote.source)?.address == null) return;
      done();
      resolve();
    };
    const onFail = (context: EventContext): void => {
      done();
      const condition = (context.receiver ?? context.sender)?.error;
      const reason = condition === undefined ? 'link closed' : conditionText(condition);
      reject(new UpstreamError(`link ${link.name} refused: ${reason}`, !/unauthorized|not-found|not-allowed/.test(JSON.stringify(condition ?? ''))));
    };
    link.once(opened, onOpen);
    link.once(failed, onFail);
    link.once(closed, onFail);
    link.connection.once('disconnected', onFail);
  });
}

/** Closes the links that are open (undefined ones are skipped). */
export function closeLinks(...links: Array<Sender | Receiver | undefined>): void {
  for (const link of links) link?.close();
}
