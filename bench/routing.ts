/**
 * Routing benchmark: a compiled condition against a hand-written JavaScript predicate for the same
 * logic on the same messages (same run), and the throughput of a 100-route table.
 * Run: npm run bench:routing
 */
import { RouteTable, compileCondition, messageSource, type RoutableMessage, type RouteSpec } from '../domain/routing/index.js';

const CONDITION = "as_number(temperature) > 30 AND $connectionModuleId = 'sensor'";
const MESSAGE_COUNT = 1024;
const ROUNDS = 15;
const ROUND_MS = 150;

function makeMessages(): RoutableMessage[] {
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const modules = ['sensor', 'filter', 'camera'];
  const messages: RoutableMessage[] = [];
  for (let i = 0; i < MESSAGE_COUNT; i++) {
    const moduleId = i % 4 === 0 ? `m${Math.floor(random() * 30)}` : (modules[i % 3] as string);
    const systemProperties: Record<string, string | null> = {
      messageId: `msg-${i}`,
      connectionDeviceId: `device${i % 7}`,
      connectionModuleId: moduleId,
      outputName: `out${i % 3}`,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
    };
    const temperature = (random() * 60).toFixed(1);
    messages.push({
      source: messageSource(systemProperties),
      properties: { temperature, humidity: (random() * 100).toFixed(0), unit: 'C' },
      systemProperties,
      body: new TextEncoder().encode(JSON.stringify({ temperature: Number(temperature), level: i % 10 === 0 ? 'critical' : 'info' })),
    });
  }
  return messages;
}

/** Runs `fn` over all messages repeatedly for `ms`; returns evaluations per second. */
function measure(messages: readonly RoutableMessage[], fn: (m: RoutableMessage) => unknown, ms: number): { rate: number; sink: number } {
  let count = 0;
  let sink = 0;
  const start = performance.now();
  let now = start;
  do {
    for (let i = 0; i < messages.length; i++) {
      if (fn(messages[i] as RoutableMessage) === true) sink++;
    }
    count += messages.length;
    now = performance.now();
  } while (now - start < ms);
  return { rate: (count * 1000) / (now - start), sink };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Measures the functions in interleaved rounds (so machine load hits them alike). For one
 * function: the median rate. For two: the round with the median ratio fns[0]/fns[1], so the
 * printed ratio and rates come from the same round and agree with each other.
 */
function compare(messages: readonly RoutableMessage[], fns: Array<(m: RoutableMessage) => unknown>): { rates: number[]; ratio: number } {
  const rounds: number[][] = [];
  for (let round = 0; round < ROUNDS; round++) rounds.push(fns.map((fn) => measure(messages, fn, ROUND_MS).rate));
  if (fns.length === 1) return { rates: [median(rounds.map((r) => r[0] as number))], ratio: 1 };
  const ratioOf = (r: number[]): number => (r[0] as number) / (r[1] as number);
  const sorted = [...rounds].sort((a, b) => ratioOf(a) - ratioOf(b));
  const middle = sorted[sorted.length >> 1] as number[];
  return { rates: middle, ratio: ratioOf(middle) };
}

function tableRoutes(): Record<string, RouteSpec> {
  const routes: Record<string, RouteSpec> = {};
  for (let i = 0; i < 90; i++) {
    routes[`module${i}`] = {
      route: `FROM /messages/modules/m${i % 30}/outputs/out${i % 3} WHERE as_number(temperature) > ${i % 50} AND unit = 'C' INTO BrokeredEndpoint("/modules/sink${i % 10}/inputs/in${i}")`,
      priority: i % 10,
      timeToLiveSecs: i * 10,
    };
  }
  routes['sensorHot'] = `FROM /messages/modules/sensor/* WHERE ${CONDITION} INTO $upstream`;
  routes['filterAll'] = 'FROM /messages/modules/filter/outputs/* INTO BrokeredEndpoint("/modules/store/inputs/filtered")';
  routes['cameraBody'] = `FROM /messages/modules/camera/* WHERE $body.level = 'critical' INTO BrokeredEndpoint("/modules/alert/inputs/camera")`;
  routes['device3'] = "FROM /messages/* WHERE $connectionDeviceId = 'device3' AND as_number(humidity) >= 50 INTO $upstream";
  routes['humid'] = 'FROM /messages/* WHERE as_number(humidity) > 95 INTO BrokeredEndpoint("/modules/alert/inputs/humid")';
  routes['twin'] = 'FROM /twinChangeNotifications WHERE twin_change_includes(properties.reported.temp) INTO $upstream';
  routes['unitF'] = "FROM /messages/* WHERE upper(unit) = 'F' INTO $upstream";
  routes['hotDevices'] = 'FROM /messages/* WHERE as_number(temperature) > 55 INTO BrokeredEndpoint("/modules/alert/inputs/hot")';
  routes['all'] = 'FROM /* INTO BrokeredEndpoint("/modules/archive/inputs/all")';
  routes['sensorCold'] = "FROM /messages/modules/sensor/outputs/* WHERE as_number(temperature) < 5 AND unit = 'C' INTO BrokeredEndpoint(\"/modules/alert/inputs/cold\")";
  return routes;
}

function main(): void {
  const messages = makeMessages();
  const compiled = compileCondition(CONDITION);
  const handwritten = (m: RoutableMessage): boolean => {
    const t = Number(m.properties['temperature']);
    return t > 30 && m.systemProperties['connectionModuleId'] === 'sensor';
  };
  const compiledFn = (m: RoutableMessage): unknown => compiled.evaluate(m);
  for (const m of messages) {
    if ((compiled.evaluate(m) === true) !== handwritten(m)) throw new Error('compiled and handwritten predicates disagree');
  }
  // Warm up both, then measure interleaved.
  measure(messages, compiledFn, 300);
  measure(messages, handwritten, 300);
  const { rates, ratio } = compare(messages, [compiledFn, handwritten]);
  const [compiledRate = 0, handwrittenRate = 0] = rates;

  const table = RouteTable.compile(tableRoutes());
  let matches = 0;
  for (const m of messages) matches += table.match(m).length;
  measure(messages, (m) => table.match(m).length > 100, 300);
  const [tableRate = 0] = compare(messages, [(m) => table.match(m).length > 100]).rates;

  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(`condition: ${CONDITION}`);
  console.log(`messages: ${messages.length} distinct, ${ROUNDS} rounds of ${ROUND_MS} ms, interleaved, median round reported (node ${process.version})`);
  console.log(`routing table: ${table.size} routes, ${fmt(tableRate)} msg/s (${(matches / messages.length).toFixed(2)} endpoints matched per message)`);
  console.log(`routing: compiled/handwritten = ${ratio.toFixed(2)} (compiled ${fmt(compiledRate)} evals/s, handwritten ${fmt(handwrittenRate)} evals/s)`);
}

main();
