import { useState } from 'preact/hooks';
import { sendJson } from '../api.js';

/** Invoke a direct method on a connected device or module, or queue a cloud-to-device message for a leaf device. */
export function SendPage() {
  return (
    <>
      <MethodForm />
      <CloudToDeviceForm />
    </>
  );
}

function MethodForm() {
  const [target, setTarget] = useState('');
  const [method, setMethod] = useState('');
  const [payload, setPayload] = useState('null');
  const [timeout, setTimeoutSeconds] = useState('30');
  const [result, setResult] = useState('');

  const submit = async (event: Event) => {
    event.preventDefault();
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch (error) {
      setResult(`the payload is not JSON: ${(error as Error).message}`);
      return;
    }
    setResult('invoking…');
    try {
      const answer = await sendJson<{ status: number; payload: unknown }>('POST', '/api/methods', { target, methodName: method, payload: json, timeoutSeconds: Number(timeout) });
      setResult(`status ${answer.status}\n${JSON.stringify(answer.payload, null, 2)}`);
    } catch (error) {
      setResult(`failed: ${(error as Error).message}`);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="method-title">
      <h2 id="method-title">Invoke a direct method</h2>
      <label for="method-target">Device or module (device or device/module)</label>
      <input id="method-target" required value={target} onInput={(e) => setTarget((e.target as HTMLInputElement).value)} />
      <label for="method-name">Method name</label>
      <input id="method-name" required value={method} onInput={(e) => setMethod((e.target as HTMLInputElement).value)} />
      <label for="method-payload">Payload (JSON)</label>
      <textarea id="method-payload" rows={3} value={payload} onInput={(e) => setPayload((e.target as HTMLTextAreaElement).value)} />
      <label for="method-timeout">Timeout (seconds)</label>
      <input id="method-timeout" type="number" min="1" max="300" value={timeout} onInput={(e) => setTimeoutSeconds((e.target as HTMLInputElement).value)} />
      <button type="submit">Invoke</button>
      <pre class="action-result" role="status" aria-live="polite">
        {result}
      </pre>
    </form>
  );
}

function CloudToDeviceForm() {
  const [device, setDevice] = useState('');
  const [body, setBody] = useState('');
  const [properties, setProperties] = useState('');
  const [result, setResult] = useState('');

  const submit = async (event: Event) => {
    event.preventDefault();
    const props: Record<string, string> = {};
    for (const line of properties.split('\n').map((l) => l.trim()).filter((l) => l !== '')) {
      const eq = line.indexOf('=');
      if (eq <= 0) {
        setResult(`a property is name=value (got "${line}")`);
        return;
      }
      props[line.slice(0, eq)] = line.slice(eq + 1);
    }
    try {
      const answer = await sendJson<{ messageId: string; queued: number }>('POST', '/api/c2d', { deviceId: device, body, properties: props });
      setResult(`queued message ${answer.messageId} (${answer.queued} queued for ${device})`);
    } catch (error) {
      setResult(`failed: ${(error as Error).message}`);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="c2d-title">
      <h2 id="c2d-title">Send a cloud-to-device message</h2>
      <label for="c2d-device">Leaf device id</label>
      <input id="c2d-device" required value={device} onInput={(e) => setDevice((e.target as HTMLInputElement).value)} />
      <label for="c2d-body">Body (text)</label>
      <textarea id="c2d-body" rows={3} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
      <label for="c2d-properties">Properties (one name=value per line)</label>
      <textarea id="c2d-properties" rows={2} value={properties} onInput={(e) => setProperties((e.target as HTMLTextAreaElement).value)} />
      <button type="submit">Send</button>
      <p class="action-result" role="status" aria-live="polite">
        {result}
      </p>
    </form>
  );
}
