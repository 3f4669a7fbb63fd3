import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIdentity } from '../../domain/identity/identity.js';
import { LinkAddressError, identityPath, parseAudience, parseLinkAddress, parseSaslPlainUser } from '../../adapters/amqp/link-address.js';
import { identity, wildString } from './arbitraries.js';
import { fuzzFixtures, fuzzParameters } from './fuzz-fixtures.js';

// Fuzz target: AMQP link-address, CBS audience and SASL PLAIN user parsing
// (adapters/amqp/link-address.ts): on any input they return or throw LinkAddressError (which the
// server turns into a refused link or put-token), and what the SDK sends parses back to its identity.

const TARGET = 'amqp-link-address';
const SUFFIXES = ['messages/events', 'messages/devicebound', 'twin', 'methods/devicebound'];

function onlyLinkAddressErrors(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof LinkAddressError)) throw error;
  }
}

function parseAll(input: string): void {
  onlyLinkAddressErrors(() => parseLinkAddress(input));
  onlyLinkAddressErrors(() => parseAudience(input));
  onlyLinkAddressErrors(() => parseSaslPlainUser(input));
}

test('fuzz amqp-link-address: replayed fixtures', () => {
  for (const { input } of fuzzFixtures<string>(TARGET)) parseAll(input);
});

test('fuzz amqp-link-address: any text is parsed or refused with LinkAddressError', () => {
  const addressLike = fc.tuple(fc.constantFrom('', '/', 'amqps://h', 'amqps://h/'), fc.array(wildString(20), { maxLength: 7 })).map(([prefix, parts]) => prefix + ['devices', ...parts].join('/'));
  fc.assert(fc.property(fc.oneof(wildString(200), addressLike), (input) => parseAll(input)), fuzzParameters(20_000, 1 / 2));
});

test('fuzz amqp-link-address: addresses, audiences and user names built as the SDK does parse back to their identity', () => {
  fc.assert(
    fc.property(identity, fc.constantFrom(...SUFFIXES), fc.constantFrom('', 'amqps://gateway.local:5671'), (who, suffix, scheme) => {
      const parsed = parseLinkAddress(`${scheme}${identityPath(who)}/${suffix}`);
      assert.ok(parsed.kind !== 'cbs');
      assert.equal(formatIdentity(parsed.identity), formatIdentity(who));
      const audience = encodeURIComponent(`hub.azure-devices.net/devices/${who.deviceId}${who.kind === 'module' ? `/modules/${who.moduleId}` : ''}`);
      assert.equal(formatIdentity(parseAudience(audience).identity), formatIdentity(who));
      if (!`${who.deviceId}${who.kind === 'module' ? who.moduleId : ''}`.includes('@')) {
        const user = `${who.deviceId}${who.kind === 'module' ? `/modules/${who.moduleId}` : ''}@sas.hub`;
        assert.equal(formatIdentity(parseSaslPlainUser(user).identity), formatIdentity(who));
      }
    }),
    fuzzParameters(5_000, 1 / 2),
  );
});
