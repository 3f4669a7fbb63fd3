import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../infrastructure/config/load-config.js';
import { planPrivileges, type PrivilegeFacts } from '../../../infrastructure/container/run-as-user.js';

const user = { uid: 10001, gid: 10001 };
const highPorts = loadConfig({ env: { EDGEPORT_HUB_HTTPS_PORT: '8443' }, cwd: '/nonexistent' });
const facts = (overrides: Partial<PrivilegeFacts> = {}): PrivilegeFacts => ({ uid: 0, user, dockerSocket: { path: '/var/run/docker.sock', gid: 118 }, files: [], ...overrides });

test('planPrivileges: drops to edgeport with the Docker socket\'s group when ports, socket and files allow it', () => {
  assert.deepEqual(planPrivileges(highPorts, facts()), { drop: true, uid: 10001, gid: 10001, groups: [10001, 118], reason: "running as edgeport (uid 10001) with the Docker socket's group 118" });
  assert.deepEqual(planPrivileges(highPorts, facts({ dockerSocket: undefined })), { drop: true, uid: 10001, gid: 10001, groups: [10001], reason: 'running as edgeport (uid 10001)' });
});

test('planPrivileges: stays root, saying why, for a port below 1024, a root-group socket or an unreadable file', () => {
  const defaults = loadConfig({ env: {}, cwd: '/nonexistent' });
  const lowPort = planPrivileges(defaults, facts());
  assert.equal(lowPort.drop, false);
  assert.match(lowPort.reason, /hub\.https\.port = 443 is below 1024/);

  const rootSocket = planPrivileges(highPorts, facts({ dockerSocket: { path: '/var/run/docker.sock', gid: 0 } }));
  assert.equal(rootSocket.drop, false);
  assert.match(rootSocket.reason, /the Docker socket \/var\/run\/docker\.sock belongs to group root/);

  const secret = { path: '/etc/edgeport/edgeport.toml', what: 'configuration file', uid: 0, gid: 0, mode: 0o100600 };
  const unreadable = planPrivileges(highPorts, facts({ files: [secret] }));
  assert.equal(unreadable.drop, false);
  assert.match(unreadable.reason, /the configuration file \/etc\/edgeport\/edgeport\.toml is not readable by edgeport \(uid 10001\); chown it to 10001/);
  // Readable through the socket's group or by everyone is enough; so is owning it.
  assert.equal(planPrivileges(highPorts, facts({ files: [{ ...secret, gid: 118, mode: 0o100640 }] })).drop, true);
  assert.equal(planPrivileges(highPorts, facts({ files: [{ ...secret, mode: 0o100644 }] })).drop, true);
  assert.equal(planPrivileges(highPorts, facts({ files: [{ ...secret, uid: 10001 }] })).drop, true);
});

test('planPrivileges: nothing to do when not root or when the image has no edgeport user', () => {
  assert.deepEqual(planPrivileges(highPorts, facts({ uid: 1000 })), { drop: false, reason: 'already running as uid 1000' });
  assert.deepEqual(planPrivileges(highPorts, facts({ user: undefined })), { drop: false, reason: 'no user edgeport in /etc/passwd' });
});
