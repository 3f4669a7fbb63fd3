import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { eventually } from '../../support/pipeline-harness.js';
import { buildUpstreamHub } from '../../support/upstream/upstream-harness.js';
import { MAX_REPORTED_ROUTE_WARNINGS, reportedRouteWarnings } from '../../../application/hub/apply-hub-deployment.js';

const HUB = parseIdentity('edge1/$edgeHub');

// Issue #12.6: routes comparing a property with a number are applied (200, as Azure) and warned about
// in the log and in the $edgeHub reported properties.
test('$edgeHub routes that can never match: 200, applied, a warn line each and reported routeWarnings', async () => {
  const h = buildUpstreamHub();
  h.upstream.setConnected(true);
  await h.sync.start();
  await h.hubDeployment.start();
  await h.sync.idle();

  const routes = {
    hot: 'FROM /messages/* WHERE temp > 100 INTO $upstream',
    both: "FROM /messages/* WHERE humidity = 'high' AND temp >= 200 INTO BrokeredEndpoint(\"/modules/b/inputs/in\")",
    fine: 'FROM /messages/* WHERE as_number(temp) > 100 INTO BrokeredEndpoint("/modules/c/inputs/in")',
  };
  await h.upstream.setDesired(HUB, { schemaVersion: '1.1', routes, storeAndForwardConfiguration: { timeToLiveSecs: 60 }, $version: 2 });
  await eventually(() => h.upstream.twin(HUB).reported.properties['lastDesiredVersion'] === 2, 5000, '$edgeHub reported');
  const reported = h.upstream.twin(HUB).reported.properties;
  assert.deepEqual(reported['lastDesiredStatus'], { code: 200, description: '' });
  assert.equal(h.routes.table.size, 3, 'every route applied');
  const warnings = reported['routeWarnings'] as Record<string, string>;
  assert.deepEqual(Object.keys(warnings).sort(), ['both', 'hot']);
  assert.match(warnings['hot']!, /^condition can never match: property 'temp' is compared with a number at column 29/);

  const warnLines = h.logger.lines.filter((l) => l.level === 'warn' && l.fields?.['code'] === 'ROUTE_NEVER_MATCHES');
  assert.deepEqual(warnLines.map((l) => l.fields?.['route']).sort(), ['both', 'hot']);
  assert.match(warnLines.find((l) => l.fields?.['route'] === 'hot')!.message, /^route hot: condition can never match/);

  // A clean deployment removes the reported list (desired patches merge: null deletes a route).
  await h.upstream.setDesired(HUB, { routes: { hot: null, both: null }, $version: 3 });
  await eventually(() => h.upstream.twin(HUB).reported.properties['lastDesiredVersion'] === 3, 5000, '$edgeHub reported again');
  assert.equal(h.upstream.twin(HUB).reported.properties['routeWarnings'], undefined);
  assert.equal(h.routes.table.size, 1);
  await h.hubDeployment.stop();
  await h.sync.stop();
});

test('a route into $upstream without an upstream configured: one structured warn line naming the route', async () => {
  const h = buildUpstreamHub();
  h.options.upstreamConfigured = false;
  h.upstream.setConnected(true);
  await h.sync.start();
  await h.hubDeployment.start();
  await h.sync.idle();
  await h.upstream.setDesired(HUB, { schemaVersion: '1.1', routes: { toCloud: 'FROM /messages/* INTO $upstream', local: 'FROM /messages/* INTO BrokeredEndpoint("/modules/b/inputs/in")' }, storeAndForwardConfiguration: { timeToLiveSecs: 60 }, $version: 2 });
  await eventually(() => h.upstream.twin(HUB).reported.properties['lastDesiredVersion'] === 2, 5000, '$edgeHub reported');
  const lines = h.logger.lines.filter((l) => l.level === 'warn' && l.fields?.['code'] === 'ROUTE_NO_UPSTREAM');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.fields?.['route'], 'toCloud');
  assert.match(lines[0]!.message, /^route toCloud: sends to \$upstream but no upstream is configured \(upstream.kind = "none"\)/);
  await h.hubDeployment.stop();
  await h.sync.stop();
});

test('reported routeWarnings stay within twin limits: valid keys, bounded count and length', () => {
  const many = Array.from({ length: 30 }, (_, i) => ({ code: 'ROUTE_NEVER_MATCHES' as const, route: `r.${i} $x`, message: 'x'.repeat(5000) }));
  const reported = reportedRouteWarnings(many)!;
  assert.equal(Object.keys(reported).length, MAX_REPORTED_ROUTE_WARNINGS);
  for (const [key, value] of Object.entries(reported)) {
    assert.doesNotMatch(key, /[.$# ]/);
    assert.ok(typeof value === 'string' && value.length <= 1000);
  }
  assert.equal(reportedRouteWarnings([]), null);
});
