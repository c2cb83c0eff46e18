import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from './errors.ts';
import { hostileName } from '../../test/support/hostile-names.ts';
import { MAX_SEGMENT_LENGTH, checkPathSegment, isInside, isPathSegment, realPathLoose, resolveUnder, safeFileName } from './safe-path.ts';

describe('path segments', () => {
  it('accepts plain names and refuses the rest, with a message that says the rule', () => {
    for (const ok of ['latest', 'v1.2.3', 'a', 'model_1-x', 'A9', 'x'.repeat(MAX_SEGMENT_LENGTH), '1700000000000', 'a..b']) assert.ok(isPathSegment(ok), ok);
    for (const bad of ['', '.', '..', '...', '.hidden', 'a.', 'a ', ' a', 'a/b', 'a\\b', 'a\0b', '%2e%2e', '\uff0e\uff0e', 'x\uff0e', 'CON', 'nul.txt', 'Lpt1', '-rf', '_x', 'x'.repeat(MAX_SEGMENT_LENGTH + 1), 'a:b', 'é']) {
      assert.ok(!isPathSegment(bad), JSON.stringify(bad));
      assert.throws(() => checkPathSegment('model tag', bad), (err: unknown) => err instanceof ValidationError && err.message.startsWith('model tag ') && /letters, digits/.test(err.message));
    }
    assert.ok(!isPathSegment(42));
    assert.throws(() => checkPathSegment('model tag', 'a\0b'), /model tag 'a\\u0000b' is not valid/);
  });

  it('refuses every name built from traversal, absolute, NUL and look-alike pieces (1,000 cases)', () => {
    fc.assert(
      fc.property(hostileName(), (name) => {
        assert.ok(!isPathSegment(name), JSON.stringify(name));
        assert.throws(() => resolveUnder('/base', 'p', name), ValidationError);
      }),
      { numRuns: 1000 },
    );
  });

  it('whatever the string, an accepted segment is one plain ASCII child of its folder (1,000 cases)', () => {
    const base = path.resolve('/srv/artifacts');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 140 }), fc.stringMatching(/^[A-Za-z0-9._ -]{1,140}$/), hostileName()), (name) => {
        let out: string;
        try {
          out = resolveUnder(base, name);
        } catch (err) {
          assert.ok(err instanceof ValidationError);
          return;
        }
        assert.equal(path.dirname(out), base);
        assert.equal(path.basename(out), name);
        assert.match(name, /^[\x21-\x7e]+$/);
        assert.equal(name.normalize('NFKC'), name);
        assert.equal(decodeURIComponent(name), name);
      }),
      { numRuns: 1000 },
    );
  });

  it('isInside compares whole segments', () => {
    assert.ok(isInside('/a/b', '/a'));
    assert.ok(isInside('/a', '/a'));
    assert.ok(!isInside('/ab', '/a'));
    assert.ok(isInside('/a/..b', '/a'), 'a name starting with two dots is no parent');
    assert.ok(!isInside('/', '/a'));
  });

  it('safe file names always pass the segment rule (1,000 cases)', () => {
    assert.equal(safeFileName('../../etc/model weights.onnx'), 'model_weights.onnx');
    assert.equal(safeFileName('C:\\models\\m.js'), 'm.js');
    assert.equal(safeFileName('..'), 'file');
    assert.equal(safeFileName('.bashrc', 'model'), 'bashrc');
    assert.equal(safeFileName('con.txt', 'model'), 'model-con.txt');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), hostileName()), (name) => {
        assert.ok(isPathSegment(safeFileName(name)), JSON.stringify(name));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('real paths', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-safe-path-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('follows symlinks, also for a path whose end does not exist yet', async () => {
    const real = fs.realpathSync(tmp);
    fs.mkdirSync(path.join(tmp, 'inside'));
    fs.mkdirSync(path.join(tmp, 'outside'));
    fs.symlinkSync(path.join(tmp, 'outside'), path.join(tmp, 'inside', 'link'));
    assert.equal(await realPathLoose(path.join(tmp, 'inside', 'link', 'new', 'file.js')), path.join(real, 'outside', 'new', 'file.js'));
    assert.equal(await realPathLoose(path.join(tmp, 'inside', 'x.js')), path.join(real, 'inside', 'x.js'));
    assert.equal(await realPathLoose(path.join(tmp, 'nope', '..', 'inside')), path.join(real, 'inside'));
  });
});
