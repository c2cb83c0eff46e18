import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { hostileName } from '../../test/support/hostile-names.ts';
import { CodeRoots, resolveDataFile } from './code-roots.ts';
import { ValidationError } from './errors.ts';
import { isInside } from './safe-path.ts';

/** `fn` rejects with a ValidationError whose message matches `why`. */
async function refused(fn: () => Promise<unknown>, why: RegExp): Promise<ValidationError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ValidationError, `expected a ValidationError, got ${String(caught)}`);
  assert.match(caught.message, why);
  return caught;
}

describe('code roots', () => {
  // tmp/ (real path)  project/ (the code root: models/, node_modules/, .cache/, .modelwatch/ (home), link-out -> ../elsewhere)
  //                  elsewhere/ (outside every root)  artifacts/ (an artifact path outside the home)
  let tmp: string;
  let project: string;
  let home: string;
  let elsewhere: string;
  let roots: CodeRoots;

  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-code-roots-')));
    project = path.join(tmp, 'project');
    home = path.join(project, '.modelwatch');
    elsewhere = path.join(tmp, 'elsewhere');
    for (const d of [path.join(project, 'models'), path.join(project, 'node_modules', 'pkg'), path.join(project, '.cache'), path.join(home, 'artifacts', 'p', 'models', 'k', 'latest'), elsewhere]) {
      fs.mkdirSync(d, { recursive: true });
    }
    for (const f of [path.join(project, 'models', 'm.js'), path.join(project, 'node_modules', 'pkg', 'bin.js'), path.join(project, '.cache', 'x.mjs'), path.join(home, 'artifacts', 'p', 'models', 'k', 'latest', 'upload.js'), path.join(elsewhere, 'evil.js')]) {
      fs.writeFileSync(f, 'export default {};\n');
    }
    fs.symlinkSync(elsewhere, path.join(project, 'link-out'));
    fs.symlinkSync(path.join(home, 'artifacts'), path.join(project, 'link-artifacts'));
    fs.symlinkSync(path.join(project, 'models'), path.join(elsewhere, 'link-in'));
    roots = CodeRoots.resolve([project], { home, artifactPath: path.join(home, 'artifacts') });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('takes existing folders, and refuses roots that are missing, files, or in the home or artifact path', () => {
    assert.deepEqual(roots.roots, [project]);
    const data = { home, artifactPath: path.join(home, 'artifacts') };
    assert.throws(() => CodeRoots.resolve([path.join(tmp, 'nope')], data), /code root '.*nope' does not exist/);
    assert.throws(() => CodeRoots.resolve([path.join(project, 'models', 'm.js')], data), /is not a folder/);
    assert.throws(() => CodeRoots.resolve([home], data), /lies in the home folder/);
    assert.throws(() => CodeRoots.resolve([path.join(home, 'artifacts', 'p')], data), /lies in the artifact path/);
    assert.throws(() => CodeRoots.resolve([path.join(project, 'models')], { home: path.join(tmp, 'h'), artifactPath: project }), /lies in the artifact path/);
    // A root that holds the data folders is fine: they stay excluded (see below).
    assert.deepEqual(CodeRoots.resolve([tmp, tmp], data).roots, [tmp]);
    assert.throws(() => CodeRoots.resolve([], data), /at least one code root/);
  });

  it('accepts a module inside a root, existing or not yet, by its real path', async () => {
    assert.equal(await roots.check('modelPath', path.join(project, 'models', 'm.js')), path.join(project, 'models', 'm.js'));
    assert.equal(await roots.check('modelPath', path.join(project, 'models', 'later.ts')), path.join(project, 'models', 'later.ts'));
    // A link from outside into the root: the file loaded is the root's.
    assert.equal(await roots.resolveFile('modelPath', path.join(elsewhere, 'link-in', 'm.js')), path.join(project, 'models', 'm.js'));
  });

  it('refuses modules outside the roots, in the data folders, through symlinks, in node_modules and dot folders, and non-modules', async () => {
    const out = await refused(() => roots.check('modelPath', path.join(elsewhere, 'evil.js')), /^modelPath '.*evil\.js' is refused: it is outside the code roots\. This server loads code only from its code roots \(.*project\)/);
    assert.deepEqual(out.details, { modelPath: path.join(elsewhere, 'evil.js'), codeRoots: [project] });
    await refused(() => roots.check('modelPath', path.join(project, 'models', '..', '..', 'elsewhere', 'evil.js')), /outside the code roots/);
    await refused(() => roots.check('modelPath', path.join(project, 'link-out', 'evil.js')), /outside the code roots/);
    await refused(() => roots.resolveFile('modelPath', path.join(project, 'link-out', 'evil.js')), /outside the code roots/);
    await refused(() => roots.check('modelPath', path.join(home, 'artifacts', 'p', 'models', 'k', 'latest', 'upload.js')), /lies in the artifact path, where uploaded files are kept as data/);
    await refused(() => roots.check('modelPath', path.join(project, 'link-artifacts', 'p', 'models', 'k', 'latest', 'upload.js')), /lies in the artifact path/);
    await refused(() => roots.check('modelPath', path.join(home, 'x.js')), /lies in the home folder/);
    await refused(() => roots.check('application', path.join(project, 'node_modules', 'pkg', 'bin.js')), /node_modules/);
    await refused(() => roots.check('application', path.join(project, '.cache', 'x.mjs')), /start with a dot/);
    await refused(() => roots.check('modelPath', path.join(project, 'models', 'data.json')), /a module file ends in \.js/);
    await refused(() => roots.check('modelPath', path.join(project, 'models', 'm.js\0.js')), /NUL/);
    await refused(() => roots.check('modelPath', ''), /non-empty path/);
  });

  it('before an import: the file must exist, and a missing file outside the roots is refused as outside', async () => {
    assert.equal(await roots.resolveFile('modelPath', path.join(project, 'models', 'm.js')), path.join(project, 'models', 'm.js'));
    await refused(() => roots.resolveFile('modelPath', path.join(project, 'models', 'gone.js')), /^modelPath '.*gone\.js' was not found$/);
    await refused(() => roots.resolveFile('modelPath', path.join(elsewhere, 'gone.js')), /outside the code roots/);
    fs.mkdirSync(path.join(project, 'models', 'dir.js'));
    await refused(() => roots.resolveFile('modelPath', path.join(project, 'models', 'dir.js')), /is not a file/);
  });

  it('whatever path it is given, what it accepts lies in a root and out of the data folders (1,000 cases)', async () => {
    const places = [project, path.join(project, 'models'), path.join(project, 'link-out'), path.join(project, 'link-artifacts'), home, elsewhere, '/', '/etc', tmp];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...places), fc.array(fc.oneof(hostileName(), fc.constantFrom('..', 'models', 'm.js', 'p', 'evil.js', 'link-out')), { maxLength: 4 }), fc.constantFrom('.js', '.ts', '', '.json'), async (start, parts, ext) => {
        const file = path.join(start, ...parts) + ext;
        let real: string;
        try {
          real = await roots.check('modelPath', file);
        } catch (err) {
          assert.ok(err instanceof ValidationError, String(err));
          return;
        }
        assert.ok(isInside(real, project), `${file} → ${real}`);
        assert.ok(!isInside(real, home), `${file} → ${real}`);
        assert.ok(!real.includes('node_modules') && !path.relative(project, real).split(path.sep).some((p) => p.startsWith('.')), real);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('data files (referencePath)', () => {
  let tmp: string;
  let home: string;
  let artifacts: string;

  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-data-files-')));
    home = path.join(tmp, 'home');
    artifacts = path.join(home, 'artifacts');
    fs.mkdirSync(path.join(artifacts, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(artifacts, 'refs', 'ref.csv'), 'a\n1\n');
    fs.writeFileSync(path.join(tmp, 'secret.csv'), 'password\nhunter2\n');
    fs.symlinkSync(path.join(tmp, 'secret.csv'), path.join(artifacts, 'refs', 'link.csv'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('resolves relative paths in the artifact path and refuses every file elsewhere', async () => {
    const data = { home, artifactPath: artifacts };
    assert.equal(await resolveDataFile('referencePath', 'refs/ref.csv', data), path.join(artifacts, 'refs', 'ref.csv'));
    assert.equal(await resolveDataFile('referencePath', path.join(artifacts, 'refs', 'ref.csv'), data), path.join(artifacts, 'refs', 'ref.csv'));
    const e = await refused(() => resolveDataFile('referencePath', path.join(tmp, 'secret.csv'), data), /^referencePath '.*secret\.csv' is refused: it is outside the artifact path\. A server reads data files only from its artifact path/);
    assert.equal(e.httpStatus, 400);
    await refused(() => resolveDataFile('referencePath', '../../secret.csv', data), /outside the artifact path/);
    await refused(() => resolveDataFile('referencePath', 'refs/link.csv', data), /outside the artifact path/);
    await refused(() => resolveDataFile('referencePath', '../modelwatch.db', data), /outside the artifact path/);
    await refused(() => resolveDataFile('referencePath', 'refs/ref.csv\0', data), /NUL/);
    // An artifact path that holds the home: the home's files stay out.
    await refused(() => resolveDataFile('referencePath', 'home/modelwatch.db', { home, artifactPath: tmp }), /lies in the home folder/);
  });
});
