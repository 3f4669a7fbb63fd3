import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, eventually, exampleSetup, REPO, runExample } from '../../support/example/run-example.js';
import { rootCa, signerCertificate, signManifest } from '../../support/trust/manifest-signer.js';

// `edgeport run` with agent.trust.manifestRootCa: the configuration reaches the agent, an unsigned
// deployment is refused (`deploy --wait` says so and exits 1), a signed one converges.

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const manifest = (modules: Record<string, unknown>): Record<string, any> => ({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules } } } }); // any: edited freely
/** A root CA and a signer from it, and a data dir with free ports for `edgeport run` (removed after the file). */
async function setup(prefix: string) {
  const root = await rootCa();
  const signer = await signerCertificate(root);
  const { dataDir, env } = await exampleSetup(prefix);
  dirs.push(dataDir);
  return { root, signer, dataDir, env, config: join(dataDir, 'edgeport.toml') };
}

const idle = { type: 'process', status: 'running', restartPolicy: 'always', version: '1.0', settings: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] } };

test('edgeport run with a manifest trust root: unsigned deployments refused (deploy --wait exits 1 with the reason), signed ones converge', { timeout: 120_000 }, async () => {
  const { root, signer, dataDir, env, config } = await setup('edgeport-manifest-trust-');
  writeFileSync(join(dataDir, 'root.pem'), root.pem);
  writeFileSync(config, `[agent]\nruntime = "process"\nmanifest = "${join(dataDir, 'deployment.json')}"\n[agent.trust]\nmanifestRootCa = "${join(dataDir, 'root.pem')}"\n`);
  writeFileSync(join(dataDir, 'unsigned.json'), JSON.stringify(manifest({ idle })));
  writeFileSync(join(dataDir, 'signed.json'), JSON.stringify(signManifest(manifest({ idle }), signer, { algorithm: 'ES256' })));
  const run = runExample(config, env);
  try {
    await run.running();
    const refused = run.cli(['deploy', join(dataDir, 'unsigned.json'), '--wait', '--timeout', '8']);
    assert.equal(refused.status, 1, `${refused.stdout}\n${refused.stderr}\n${run.context()}`);
    assert.match(refused.stderr, /deployment failed: the agent refused the deployment: 400 Deployment manifest refused: it is not signed, and this device accepts only signed deployments/);

    const applied = run.cli(['deploy', join(dataDir, 'signed.json'), '--wait', '--timeout', '8']);
    assert.equal(applied.status, 0, `${applied.stdout}\n${applied.stderr}\n${run.context()}`);
    assert.match(applied.stdout, /deployment converged: 1 module as deployed/);
    await eventually('idle running in edgeport list', 10_000, () => (JSON.parse(run.cli(['list', '--json']).stdout || '[]') as Array<{ name: string; status: string }>).find((m) => m.name === 'idle' && m.status === 'running'), run.context);
  } finally {
    await run.stop();
  }
});

test('edgeport run refuses to start when agent.trust names a file that is not what it must be', { timeout: 60_000 }, async () => {
  const { signer, dataDir, env, config } = await setup('edgeport-trust-config-');
  writeFileSync(join(dataDir, 'leaf.pem'), signer.pem);
  writeFileSync(join(dataDir, 'garbage.pub'), 'not a key\n');
  for (const [trust, message] of [
    [`manifestRootCa = "${join(dataDir, 'leaf.pem')}"`, /agent\.trust\.manifestRootCa: .*leaf\.pem is not a CA certificate/],
    [`imageKeys = ["${join(dataDir, 'missing.pub')}"]`, /cannot read agent\.trust\.imageKeys .*missing\.pub: ENOENT/],
    [`imageKeys = ["${join(dataDir, 'garbage.pub')}"]`, /agent\.trust\.imageKeys: .*garbage\.pub is not a PEM public key/],
  ] as const) {
    writeFileSync(config, `[agent]\nruntime = "process"\n[agent.trust]\n${trust}\n`);
    const result = spawnSync(process.execPath, [BIN, 'run', '--config', config], { cwd: REPO, env, encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(result.status, 0, trust);
    assert.match(`${result.stdout}${result.stderr}`, message, trust);
  }
});
