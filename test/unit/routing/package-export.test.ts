import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Routing from '../../../domain/routing/index.js';

// Imported by package name through package.json "exports" (self-reference), as consumers do.
const specifier = 'edgeport/routing';

test('edgeport/routing resolves to the built domain/routing/index.js', () => {
  assert.match(import.meta.resolve(specifier), /\/dist\/domain\/routing\/index\.js$/);
});

test('edgeport/routing exports parseRoute, compileCondition and RouteTable', async () => {
  const routing = (await import(specifier)) as typeof Routing;
  assert.deepEqual(routing.parseRoute("SELECT * FROM /messages/* WHERE $connectionModuleId = 'sensor' INTO BrokeredEndpoint(\"/modules/filter/inputs/in\")"), {
    source: '/messages/*',
    condition: "$connectionModuleId = 'sensor'",
    sink: { type: 'module', module: 'filter', input: 'in' },
    warnings: [],
  });
  const condition = routing.compileCondition("as_number(temperature) > 30 AND $connectionModuleId = 'sensor'");
  assert.equal(condition.evaluate({ properties: { temperature: '31' }, systemProperties: { connectionModuleId: 'sensor' } }), true);
  assert.equal(condition.evaluate({ properties: { temperature: '29' }, systemProperties: { connectionModuleId: 'sensor' } }), false);
  assert.equal(condition.evaluate({ properties: {}, systemProperties: { connectionModuleId: 'sensor' } }), undefined);
  assert.throws(() => routing.compileCondition('a =='), routing.RouteSyntaxError);
  assert.equal(routing.RouteTable.compile({ r: 'FROM /* INTO $upstream' }).size, 1);
  assert.equal(routing.DEFAULT_ROUTE_PRIORITY, 2000000000);
  assert.deepEqual(
    routing.routeWarnings({ r: 'FROM /* WHERE temp > 100 INTO $upstream' }, { upstream: false }).map((w) => w.code),
    ['ROUTE_NEVER_MATCHES', 'ROUTE_NO_UPSTREAM'],
  );
});
