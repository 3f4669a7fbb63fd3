import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeImageName } from '../../../domain/deployment/image-name.js';
import { checkBeforePull, checkPulled, judgeSignatures, OPEN_IMAGE_POLICY, pinnedDigestOf, policyActive } from '../../../domain/trust/image-policy.js';
import { parseImageReference, pinnedImageName } from '../../../domain/trust/image-reference.js';
import { parseSimpleSigningPayload, signatureTag } from '../../../domain/trust/simple-signing.js';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const payload = (digest: string): string => JSON.stringify({ critical: { identity: { 'docker-reference': 'r/app' }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null });

test('image references: registry, repository (Docker Hub library/), tag, digest; pinned names', () => {
  assert.deepEqual(parseImageReference('127.0.0.1:5000/team/app:1.0'), { registry: '127.0.0.1:5000', repository: 'team/app', tag: '1.0' });
  assert.deepEqual(parseImageReference('busybox:latest'), { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' });
  assert.deepEqual(parseImageReference('docker.io/acme/x:2'), { registry: 'docker.io', repository: 'acme/x', tag: '2' });
  assert.deepEqual(parseImageReference(`myacr.azurecr.io/app@${D1}`), { registry: 'myacr.azurecr.io', repository: 'app', digest: D1 });
  assert.deepEqual(parseImageReference(`localhost:5000/app:1@${D1}`), { registry: 'localhost:5000', repository: 'app', tag: '1', digest: D1 });
  assert.equal(pinnedImageName('127.0.0.1:5000/team/app:1.0', D2), `127.0.0.1:5000/team/app@${D2}`);
  assert.equal(pinnedImageName(`app:1@${D1}`, D1), `app@${D1}`);
  // Digest-pinned names are valid image names (with or without a tag), without `:latest`.
  assert.deepEqual(normalizeImageName(`app@${D1}`), { ok: true, image: `app@${D1}` });
  assert.deepEqual(normalizeImageName(`r.io/app:1@${D1}`), { ok: true, image: `r.io/app:1@${D1}` });
  assert.equal(normalizeImageName('app@sha256:short').ok, true, 'as before: the name regex reads ":short" as a tag');
  assert.equal(normalizeImageName(`bad name@${D1}`).ok, false);
});

test('before the pull: allowed registries (Docker Hub aliases folded), required digests, conflicting pins', () => {
  const hub = parseImageReference('busybox:1');
  assert.equal(checkBeforePull('busybox:1', hub, undefined, { ...OPEN_IMAGE_POLICY, allowedRegistries: ['index.docker.io'] }), undefined);
  const refused = checkBeforePull('x.io/a:1', parseImageReference('x.io/a:1'), undefined, { ...OPEN_IMAGE_POLICY, allowedRegistries: ['https://y.io/'] });
  assert.equal(refused?.reason, 'registry not allowed');
  assert.equal(refused?.message, 'image x.io/a:1 refused (registry not allowed): registry x.io is not in agent.trust.allowedRegistries (https://y.io/)');
  assert.equal(checkBeforePull('x.io/a:1', parseImageReference('x.io/a:1'), undefined, { ...OPEN_IMAGE_POLICY, requireDigest: true })?.reason, 'digest required');
  assert.equal(checkBeforePull('x.io/a:1', parseImageReference('x.io/a:1'), D1, { ...OPEN_IMAGE_POLICY, requireDigest: true }), undefined);
  assert.deepEqual(pinnedDigestOf(parseImageReference(`a@${D1}`), undefined), { digest: D1 });
  assert.deepEqual(pinnedDigestOf(parseImageReference('a:1'), D2), { digest: D2 });
  assert.deepEqual(pinnedDigestOf(parseImageReference('a:1'), undefined), {});
  assert.match(pinnedDigestOf(parseImageReference(`a@${D1}`), D2).conflict ?? '', /the name pins sha256:a+ but settings\.digest is sha256:b+/);
  assert.equal(policyActive(OPEN_IMAGE_POLICY), false);
  assert.equal(policyActive({ ...OPEN_IMAGE_POLICY, refuseMovedTags: true }), true);
});

test('after the pull: pin mismatch, moved tag (unless pinned), unknown digest only matters when something depends on it', () => {
  const open = OPEN_IMAGE_POLICY;
  assert.equal(checkPulled({ image: 'a:1', digest: D2, pinned: D1, previous: undefined }, open)?.reason, 'digest mismatch');
  assert.equal(checkPulled({ image: 'a:1', digest: D1, pinned: D1, previous: D2 }, { ...open, refuseMovedTags: true }), undefined, 'a pin overrides the last digest seen');
  const moved = checkPulled({ image: 'a:1', digest: D2, pinned: undefined, previous: D1 }, { ...open, refuseMovedTags: true });
  assert.equal(moved?.reason, 'tag moved');
  assert.equal(checkPulled({ image: 'a:1', digest: D2, pinned: undefined, previous: D1 }, open), undefined, 'moving tags are fine unless refused');
  assert.equal(checkPulled({ image: 'a:1', digest: D2, pinned: undefined, previous: undefined }, { ...open, refuseMovedTags: true }), undefined, 'first use');
  assert.equal(checkPulled({ image: 'a:1', digest: undefined, pinned: undefined, previous: undefined }, open), undefined);
  assert.equal(checkPulled({ image: 'a:1', digest: undefined, pinned: undefined, previous: undefined }, { ...open, requireSignature: true })?.reason, 'cannot verify');
});

test('signatures: accepted with a trusted key over a payload for this digest; otherwise the reason', () => {
  assert.deepEqual(judgeSignatures('a:1', D1, [{ payload: payload(D1), verifiedBy: 'k.pub' }]), { verifiedBy: 'k.pub' });
  // One good signature among bad ones is enough.
  assert.deepEqual(judgeSignatures('a:1', D1, [{ payload: '', malformed: 'broken' }, { payload: payload(D1) }, { payload: payload(D1), verifiedBy: 'k2.pub' }]), { verifiedBy: 'k2.pub' });
  const reason = (evidence: Parameters<typeof judgeSignatures>[2]): string | undefined => {
    const verdict = judgeSignatures('a:1', D1, evidence);
    return 'reason' in verdict ? verdict.reason : undefined;
  };
  assert.equal(reason(undefined), 'no signature');
  assert.equal(reason([]), 'no signature');
  assert.equal(reason([{ payload: payload(D1) }]), 'untrusted key');
  assert.equal(reason([{ payload: payload(D2), verifiedBy: 'k.pub' }]), 'bad signature', 'a trusted signature of another image does not count');
  assert.equal(reason([{ payload: 'not json', verifiedBy: 'k.pub' }]), 'bad signature');
  assert.equal(reason([{ payload: '', malformed: 'no annotation' }, { payload: payload(D1) }]), 'untrusted key', 'a well-formed signature for this image decides');
  const verdict = judgeSignatures('a:1', D1, [{ payload: payload(D2) }]);
  assert.ok('reason' in verdict);
  assert.equal(verdict.message, `image a:1 refused (bad signature): the signature is for ${D2}, not ${D1}`);
});

test('simple signing payloads and the signature tag', () => {
  assert.equal(signatureTag(D1), `sha256-${'a'.repeat(64)}.sig`);
  assert.deepEqual(parseSimpleSigningPayload(payload(D1)), { ok: true, payload: { manifestDigest: D1, reference: 'r/app' } });
  assert.deepEqual(parseSimpleSigningPayload('{"critical":{"type":"cosign container image signature","image":{}}}'), { ok: false, problem: 'the signed payload names no critical.image.docker-manifest-digest' });
  assert.equal(parseSimpleSigningPayload('[]').ok, false);
  assert.equal(parseSimpleSigningPayload('{"critical":{"type":"x"}}').ok, false);
});
