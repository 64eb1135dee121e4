// Checking a record's proof in the browser, trusting nothing the server says about it: the leaf's
// hash (RFC 9162 §2.1.1), the inclusion proof to a tree root (§2.1.3.2), and the signed checkpoint
// that commits to that root (C2SP signed-note and tlog-checkpoint, Ed25519 over WebCrypto). The
// answer is said in words for people who are not cryptographers (evidence.js).
import { get } from './api.js';

const utf8 = new TextEncoder();

export function fromBase64(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}
export function toBase64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

function subtle() {
  if (!globalThis.crypto?.subtle) {
    throw new Error('this browser checks proofs only on a secure page (HTTPS, or localhost)');
  }
  return crypto.subtle;
}

async function sha256(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await subtle().digest('SHA-256', buf));
}

export const leafHash = (leaf) => sha256(Uint8Array.of(0), leaf);
const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

// RFC 9162 §2.1.3.2: the root that an inclusion proof of leaf `index` in a tree of `size` leaves
// leads to, or null when the proof has the wrong shape.
export async function rootFromInclusion(index, size, leaf, path) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// A signed note: its text (what is signed), and its signature lines.
export function parseNote(note) {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('not a signed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const signatures = note.slice(split + 2).split('\n').filter(Boolean).map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error('not a signed note: a signature line must start with an em dash');
    return { name: m[1], raw: fromBase64(m[2]) };
  });
  const [origin, size, root] = text.split('\n');
  return { text, origin, size: Number(size), root, signatures };
}

// Whether `note` carries a valid Ed25519 signature by the key "name+hash+base64(0x01||key)".
export async function verifyNote(note, verifierKey) {
  // name+hash+base64: the base64 may itself hold '+', so only the first two split.
  const k = verifierKey.trim();
  const a = k.indexOf('+');
  const b = k.indexOf('+', a + 1);
  if (a < 0 || b < 0) throw new Error('the verifier key is not name+hash+base64');
  const [name, hash, data] = [k.slice(0, a), k.slice(a + 1, b), k.slice(b + 1)];
  const key = fromBase64(data);
  if (!name || !hash || key.length !== 33 || key[0] !== 1) throw new Error('the verifier key is not an Ed25519 key');
  const id = (await sha256(utf8.encode(`${name}\n`), key)).slice(0, 4);
  if (toHex(id) !== hash) throw new Error('the verifier key\'s hash does not match its key');
  const parsed = parseNote(note);
  const mine = parsed.signatures.filter((s) => s.name === name && s.raw.length === 68 && equal(s.raw.slice(0, 4), id));
  if (!mine.length) return { ok: false, reason: `the checkpoint carries no signature by ${name}`, parsed };
  let publicKey;
  try {
    publicKey = await subtle().importKey('raw', key.slice(1), { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return { ok: null, reason: 'this browser cannot check Ed25519 signatures', parsed };
  }
  for (const s of mine) {
    if (await subtle().verify({ name: 'Ed25519' }, publicKey, s.raw.slice(4), utf8.encode(parsed.text))) {
      return { ok: true, parsed };
    }
  }
  return { ok: false, reason: `the signature by ${name} does not verify`, parsed };
}

const toHex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

// The record's leaf (what it states in the clear: kind, clause, when, commitments, redactions).
export function decodeLeaf(leafBase64) {
  try {
    return JSON.parse(new TextDecoder().decode(fromBase64(leafBase64)));
  } catch {
    return null;
  }
}

// Checks record `index` against the latest signed checkpoint (or, when it was recorded after that
// checkpoint, against the log as it is now). `expectedLeafHash`: the hash the record list showed.
// Returns {verdict: 'verified' | 'pending' | 'failed' | 'unavailable', steps: [{ok, text}], leaf,
// proof, checkpoint}.
export async function checkRecord(index, expectedLeafHash) {
  const steps = [];
  const step = (ok, text) => steps.push({ ok, text });
  let checkpoint = null;
  try {
    checkpoint = await get('/checkpoint');
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  const signedSize = checkpoint ? Number(checkpoint.size) : 0;
  const covered = checkpoint && index < signedSize;
  const proof = await get(`/evidence/${index}/proof${covered ? `?tree_size=${signedSize}` : ''}`);
  const leaf = fromBase64(proof.leaf);
  const lh = await leafHash(leaf);
  const leafOk = toBase64(lh) === proof.leaf_hash && (!expectedLeafHash || expectedLeafHash === proof.leaf_hash);
  step(leafOk, leafOk
    ? 'The record\'s contents hash to the fingerprint listed for it.'
    : 'The record\'s contents do not hash to the fingerprint listed for it.');
  const root = await rootFromInclusion(index, Number(proof.tree_size), lh, proof.hashes.map(fromBase64));
  const rootOk = root !== null && toBase64(root) === proof.root;
  step(rootOk, rootOk
    ? `The proof places it at position ${index} of a log of ${Number(proof.tree_size).toLocaleString()} records.`
    : 'The proof does not lead from the record to the log\'s root: the log may have been altered.');
  let verdict = leafOk && rootOk ? 'pending' : 'failed';
  if (checkpoint && verdict !== 'failed') {
    const sig = await verifyNote(checkpoint.note, checkpoint.verifier_key);
    if (sig.ok === null) {
      step(null, `The checkpoint's signature was not checked: ${sig.reason}.`);
      verdict = 'unavailable';
    } else if (!sig.ok) {
      step(false, `The checkpoint is not signed by the workspace's key: ${sig.reason}.`);
      verdict = 'failed';
    } else {
      step(true, `The latest checkpoint (${sig.parsed.size.toLocaleString()} records) is signed by the workspace's key ${checkpoint.verifier_key.split('+')[0]}.`);
      if (covered) {
        const same = sig.parsed.root === proof.root && sig.parsed.size === Number(proof.tree_size);
        step(same, same
          ? 'That signed checkpoint commits to the same root: the record was there when it was signed, and cannot have been changed since.'
          : 'The signed checkpoint commits to another root than the proof: the log has been altered.');
        verdict = same ? 'verified' : 'failed';
      }
    }
  }
  if (verdict === 'pending') {
    step(null, checkpoint
      ? 'It was recorded after the latest checkpoint: it is in the log, and a new checkpoint will cover it.'
      : 'No checkpoint has been signed yet: sign one to fix the log\'s state.');
  }
  return { verdict, steps, leaf: decodeLeaf(proof.leaf), proof, checkpoint };
}
