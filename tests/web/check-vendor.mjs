// Checks that web/vendor/ holds exactly the files of the packages pinned in web/package-lock.json.
//
// How: web/package.json and web/package-lock.json are copied into a fresh temporary folder and
// installed there with `npm ci`, which refuses any tarball whose sha512 differs from the lock's
// `integrity`; then every file named in package.json's "flopline_vendor" map must be byte for byte
// the committed copy in web/vendor/, every installed package must be the lock's version, and
// web/vendor/ must hold no file the map does not name. The import map in web/index.html must name
// only vendored files. Exit 0 when all hold; otherwise one line per difference and exit 1.
//
// Usage: node tests/web/check-vendor.mjs SOURCE_DIR
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const source = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../..'));
const web = path.join(source, 'web');
const problems = [];
const manifest = JSON.parse(fs.readFileSync(path.join(web, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(web, 'package-lock.json'), 'utf8'));
const map = manifest.flopline_vendor ?? {};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flopline-vendor-'));
try {
  fs.copyFileSync(path.join(web, 'package.json'), path.join(tmp, 'package.json'));
  fs.copyFileSync(path.join(web, 'package-lock.json'), path.join(tmp, 'package-lock.json'));
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
               { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });

  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/')) continue;
    if (!entry.integrity?.startsWith('sha512-')) problems.push(`${key}: the lock has no sha512 integrity`);
    const installed = JSON.parse(fs.readFileSync(path.join(tmp, key, 'package.json'), 'utf8'));
    if (installed.version !== entry.version) {
      problems.push(`${key}: installed ${installed.version}, the lock pins ${entry.version}`);
    }
  }
  for (const [from, to] of Object.entries(map)) {
    const pinned = path.join(tmp, 'node_modules', from);
    const copy = path.join(web, to);
    if (!fs.existsSync(copy)) {
      problems.push(`web/${to}: missing (scripts/vendor-web.sh copies it from ${from})`);
    } else if (!fs.readFileSync(pinned).equals(fs.readFileSync(copy))) {
      problems.push(`web/${to}: differs from ${from} of the locked package (run scripts/vendor-web.sh)`);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const named = new Set(Object.values(map).map((p) => path.normalize(p)));
const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
  d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]);
for (const file of walk(path.join(web, 'vendor'))) {
  const rel = path.relative(web, file);
  if (!named.has(rel)) problems.push(`web/${rel}: not from a locked package (not in flopline_vendor)`);
}

const html = fs.readFileSync(path.join(web, 'index.html'), 'utf8');
const importMap = html.match(/<script type="importmap">([\s\S]*?)<\/script>/);
if (!importMap) {
  problems.push('web/index.html: no import map');
} else {
  for (const [name, url] of Object.entries(JSON.parse(importMap[1]).imports)) {
    if (!url.startsWith('/vendor/') || !named.has(path.normalize(url.slice(1)))) {
      problems.push(`web/index.html: the import map's '${name}' -> ${url} is not a vendored file`);
    }
  }
}

for (const p of problems) console.error(`check-vendor: ${p}`);
console.log(`${Object.keys(map).length} vendored files checked against web/package-lock.json: ${problems.length} differences`);
process.exit(problems.length ? 1 : 0);
