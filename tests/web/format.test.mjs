// The dashboard's words for numbers, clocks and proofs, without a browser (web/app/format.js and
// the proof arithmetic of web/app/verify.js, which needs only WebCrypto: node has it).
//
// Usage: node --test-reporter=spec tests/web/format.test.mjs SOURCE_DIR
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';

const source = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../..'));
const format = await import(path.join(source, 'web/app/format.js'));
// verify.js imports api.js, which imports preact's hooks by bare name: give node the vendored copy.
const { register } = await import('node:module');
register(`data:text/javascript,${encodeURIComponent(`
  export async function resolve(spec, ctx, next) {
    if (spec === 'preact/hooks') return { url: ${JSON.stringify(`file://${source}/web/vendor/preact/hooks.mjs`)}, shortCircuit: true };
    if (spec === 'preact') return { url: ${JSON.stringify(`file://${source}/web/vendor/preact/preact.mjs`)}, shortCircuit: true };
    return next(spec, ctx);
  }`)}`);
const verify = await import(path.join(source, 'web/app/verify.js'));

const H = 3600 * 1000;

test('countdowns read as a person says them', () => {
  const now = Date.parse('2026-11-26T09:00:00Z');
  assert.deepEqual(format.countdown('2026-11-28T02:00:00Z', now), { overdue: false, text: 'due in 41 h' });
  assert.deepEqual(format.countdown('2026-11-29T09:00:00Z', now), { overdue: false, text: 'due in 3 days' });
  assert.deepEqual(format.countdown('2026-11-29T08:59:59Z', now), { overdue: false, text: 'due in 71 h' });
  assert.deepEqual(format.countdown('2026-11-23T08:00:00Z', now), { overdue: true, text: 'overdue by 3 days' });
  assert.deepEqual(format.countdown('2026-11-26T08:35:00Z', now), { overdue: true, text: 'overdue by 25 min' });
  assert.deepEqual(format.countdown('2026-11-26T09:00:30Z', now), { overdue: false, text: 'due in less than a minute' });
  assert.deepEqual(format.countdown(null, now), { overdue: false, text: 'no fixed date' });
  assert.equal(format.span(24 * H * 1), '24 h');
  assert.equal(format.span(24 * H * 3), '3 days');
  assert.equal(format.span(24 * H * 30), '30 days');
});

test('figures carry their units', () => {
  assert.equal(format.flop(1.2e26), '1.2e26 FLOP');
  assert.equal(format.flop(1e26), '1e26 FLOP');
  assert.equal(format.flop(3e25), '3e25 FLOP');
  assert.equal(format.flop(1.25e26), '1.25e26 FLOP');
  assert.equal(format.flop(8.6e22), '8.6e22 FLOP');
  assert.equal(format.flop(null), '—');
  assert.equal(format.money(1.5e8), '$150M');
  assert.equal(format.money(2e9), '$2B');
  assert.equal(format.money(2.25e9), '$2.25B');
  assert.equal(format.money(1.8e9, 'EUR'), '€1.8B');
  assert.equal(format.money(null), '—');
});

test('times: UTC beside the local time, and the API\'s instants', () => {
  const w = format.when('2026-12-01T09:30:00Z');
  assert.match(w.utc, /09:30 UTC$/);
  assert.equal(format.isoSeconds(new Date('2026-12-01T09:30:12.345Z')), '2026-12-01T09:30:12Z');
  const d = format.fromLocalInput('2026-12-01T10:15');
  assert.equal(format.toLocalInput(d), '2026-12-01T10:15');
  assert.equal(format.fromLocalInput('yesterday'), null);
});

// An RFC 9162 tree built here, independently of the dashboard's code.
function tree(leaves) {
  const sha = (...parts) => createHash('sha256').update(Buffer.concat(parts)).digest();
  const hashOf = (lo, hi) => {
    if (hi - lo === 1) return sha(Buffer.from([0]), leaves[lo]);
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return sha(Buffer.from([1]), hashOf(lo, lo + k), hashOf(lo + k, hi));
  };
  const path = (m, lo, hi) => {
    if (hi - lo === 1) return [];
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return m < lo + k ? [...path(m, lo, lo + k), hashOf(lo + k, hi)] : [...path(m, lo + k, hi), hashOf(lo, lo + k)];
  };
  return { root: hashOf(0, leaves.length), path: (m) => path(m, 0, leaves.length) };
}

test('inclusion proofs: every leaf of trees of 1 to 17 leaves leads to the root; a changed hash does not', async () => {
  for (let n = 1; n <= 17; n++) {
    const leaves = Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`));
    const t = tree(leaves);
    for (let m = 0; m < n; m++) {
      const lh = await verify.leafHash(leaves[m]);
      const root = await verify.rootFromInclusion(m, n, lh, t.path(m));
      assert.ok(root && Buffer.from(root).equals(t.root), `leaf ${m} of ${n}`);
      if (t.path(m).length) {
        const bad = t.path(m).map((h, i) => (i === 0 ? Buffer.from(h).fill(7, 0, 1) : h));
        const wrong = await verify.rootFromInclusion(m, n, lh, bad);
        assert.ok(!wrong || !Buffer.from(wrong).equals(t.root), `a tampered path of leaf ${m} of ${n} fails`);
      }
    }
  }
  assert.equal(await verify.rootFromInclusion(5, 5, new Uint8Array(32), []), null, 'an index past the tree');
});

test('signed notes: the signature over the text, by the key it names', async () => {
  const { generateKeyPairSync, sign } = await import('node:crypto');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const name = 'example.org/log';
  const keyData = Buffer.concat([Buffer.from([1]), raw]);
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), keyData])).digest().subarray(0, 4);
  const verifier = `${name}+${id.toString('hex')}+${keyData.toString('base64')}`;
  const text = `${name}\n7\n${Buffer.alloc(32, 3).toString('base64')}\n`;
  const sig = Buffer.concat([id, sign(null, Buffer.from(text), privateKey)]);
  const note = `${text}\n\u2014 ${name} ${sig.toString('base64')}\n`;
  const ok = await verify.verifyNote(note, verifier);
  assert.equal(ok.ok, true);
  assert.equal(ok.parsed.size, 7);
  const forged = note.replace('\n7\n', '\n8\n');
  assert.equal((await verify.verifyNote(forged, verifier)).ok, false);
  await assert.rejects(verify.verifyNote(note, verifier.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), /hash does not match/);
});
