import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Identity, type ModuleIdentity, formatIdentity } from '../../domain/identity/identity.js';
import { IotHubTopicError, formatC2dTopic, formatInputTopic, formatTelemetryTopicAsSdk, parsePublishTopic, parseSubscriptionFilter } from '../../adapters/mqtt/iothub-topics.js';
import { type PropertyBag, decodePropertyBag, encodePropertyBag } from '../../adapters/mqtt/property-bag.js';
import { codeUnit, identity, iotHubId, wildString } from './arbitraries.js';
import { fuzzFixtures, fuzzParameters } from './fuzz-fixtures.js';

// Fuzz target: IoT Hub topic and property-bag parsing (adapters/mqtt/iothub-topics.ts,
// property-bag.ts): any PUBLISH topic or SUBSCRIBE filter is parsed or refused with
// IotHubTopicError (the head closes the connection or answers SUBACK 0x80); what the SDK publishes
// parses back to its identity, output and properties; and bags the hub sends decode as the SDK
// decodes them.

const TARGET = 'mqtt-topics';

function parseOrRefuse(topic: string): void {
  for (const parse of [parsePublishTopic, parseSubscriptionFilter]) {
    try {
      parse(topic);
    } catch (error) {
      if (!(error instanceof IotHubTopicError)) throw error;
    }
  }
}

/** How the SDK (MQTT.js 4) reads a bag the hub sent: split on `&` and `=`, decodeURIComponent both halves. */
function sdkDecode(bag: string): Array<[string, string]> {
  if (bag === '') return [];
  return bag.split('&').map((pair) => {
    const [k, v] = pair.split('=');
    return [decodeURIComponent(k!), decodeURIComponent(v ?? '')];
  });
}

/** What a JS string carries once written as UTF-8 on the wire: lone surrogates become U+FFFD. */
function wellFormed(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

test('fuzz mqtt-topics: replayed fixtures', () => {
  for (const { input } of fuzzFixtures<{ topic?: string; bag?: PropertyBag }>(TARGET)) {
    if (input.topic !== undefined) parseOrRefuse(input.topic);
    if (input.bag !== undefined) {
      const wellFormedBag = (record: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(record).map(([k, v]) => [wellFormed(k), wellFormed(v)]));
      assert.deepEqual(decodePropertyBag(encodePropertyBag(input.bag)), { systemProperties: wellFormedBag(input.bag.systemProperties), properties: wellFormedBag(input.bag.properties) });
    }
  }
});

test('fuzz mqtt-topics: any topic or filter is parsed or refused with IotHubTopicError', () => {
  const topicLike = fc.tuple(fc.constantFrom('devices/', '$iothub/twin/', '$iothub/methods/res/', '$iothub/twin/PATCH/properties/reported/', ''), fc.array(wildString(24), { maxLength: 7 })).map(([prefix, parts]) => prefix + parts.join('/'));
  fc.assert(fc.property(fc.oneof(wildString(300), topicLike), (topic) => parseOrRefuse(topic)), fuzzParameters(20_000, 1 / 3));
});

test('fuzz mqtt-topics: telemetry and outputs as the SDK publishes them parse back to identity, output and properties', () => {
  // What a client can send: well-formed text (the topic is UTF-8), keys not named like system properties.
  const key = fc.string({ unit: codeUnit, minLength: 1, maxLength: 12 }).filter((k) => !k.startsWith('$') && wellFormed(k) === k);
  const value = fc.string({ unit: codeUnit, maxLength: 20 }).filter((v) => wellFormed(v) === v);
  fc.assert(
    fc.property(identity, fc.uniqueArray(fc.tuple(key, value), { maxLength: 5, selector: ([k]) => k }), fc.option(iotHubId, { nil: undefined }), (who: Identity, user, output) => {
      if (who.kind === 'device' && output !== undefined) return; // only modules have outputs
      // `+` and `#` are MQTT wildcards: identities holding them are refused in topics on purpose (bad-identity).
      if (/[+#]/.test(formatIdentity(who)) || (output !== undefined && /[+#]/.test(output))) return;
      let topic: string;
      try {
        topic = formatTelemetryTopicAsSdk(who, [], user, output);
      } catch {
        return; // encodeURIComponent refuses what the SDK could not send either
      }
      const parsed = parsePublishTopic(topic);
      assert.equal(parsed.kind, 'telemetry');
      if (parsed.kind !== 'telemetry') return;
      assert.equal(formatIdentity(parsed.identity), formatIdentity(who));
      assert.equal(parsed.bag.systemProperties['outputName'], output);
      assert.deepEqual(parsed.bag.properties, Object.fromEntries(user));
    }),
    fuzzParameters(5_000, 1 / 3),
  );
});

test('fuzz mqtt-topics: bags the hub sends (C2D, inputs) never throw and decode as the SDK decodes them', () => {
  const text = fc.string({ unit: codeUnit, maxLength: 20 });
  fc.assert(
    // Keys distinct once on the wire: two different lone surrogates both become U+FFFD, and then the
    // bag carries one key twice (the last value wins on both sides, which this property does not model).
    fc.property(identity, fc.dictionary(fc.string({ unit: codeUnit, minLength: 1, maxLength: 10 }), text, { maxKeys: 5 }).filter((d) => new Set(Object.keys(d).map(wellFormed)).size === Object.keys(d).length), fc.dictionary(fc.constantFrom('messageId', 'correlationId', 'contentType', 'to', 'userId'), text), (who, properties, systemProperties) => {
      const bag: PropertyBag = { properties, systemProperties };
      const topic = who.kind === 'module' ? formatInputTopic(who as ModuleIdentity, 'input1', bag) : formatC2dTopic(who.deviceId, bag);
      const prefix = who.kind === 'module' ? `devices/${who.deviceId}/modules/${(who as ModuleIdentity).moduleId}/inputs/input1/` : `devices/${who.deviceId}/messages/devicebound/`;
      assert.ok(topic.startsWith(prefix));
      const encoded = topic.slice(prefix.length);
      const decoded = new Map(sdkDecode(encoded));
      for (const [k, v] of Object.entries(properties)) assert.equal(decoded.get(wellFormed(k)), wellFormed(v));
      assert.deepEqual(decodePropertyBag(encoded).properties, Object.fromEntries(Object.entries(properties).map(([k, v]) => [wellFormed(k), wellFormed(v)])));
    }),
    fuzzParameters(5_000, 1 / 3),
  );
});
