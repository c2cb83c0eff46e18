import fc from 'fast-check';

/*
 * Generators of names that try to leave their folder, for the path-traversal tests (property-based,
 * fast-check).
 */

/** Pieces of names that try to leave a folder, in the forms that survive one decoding layer or another. */
export const HOSTILE_PIECES: readonly string[] = [
  '..', '../', '..\\', '/', '\\', './', '.', '...', '....//', '..;/', '%2e%2e', '%2e%2e%2f', '%2F', '%5c', '%00', '%c0%ae%c0%ae/',
  '\u0000', 'x\u0000', '\uff0e\uff0e', '\uff0e\uff0e\uff0f', '\uff0f', '\uff3c', '\u2024\u2024', '\ufe52\ufe52', '\u2215', '\u2044', '.\u0307',
  ' ', '. ', '.. ', ' ..', 'a.', 'a. ', 'a ', '\t', '\n', '~', '~/', 'C:', 'C:\\', '\\\\?\\', '//server/share/', 'file:///', 'con', 'NUL.txt', 'lpt1',
  '\u202e', '\u200b', '\u00e9', '\u01c5',
];

// Pieces that make any name they start invalid: a leading dot, or a character no name may hold.
const LEADS = HOSTILE_PIECES.filter((p) => /^\.|[^A-Za-z0-9_.-]/.test(p));

/**
 * Names made of hostile pieces, plain words and `marker` (so that a file they create anywhere can be
 * found); each has at least one hostile piece, so none is a valid name.
 */
export function hostileName(marker = 'mwprobe'): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(fc.constantFrom(...LEADS), { minLength: 1, maxLength: 6 }),
      fc.array(fc.constantFrom(...HOSTILE_PIECES, 'tmp', 'etc', marker), { maxLength: 4 }),
      fc.constantFrom('', '.', ' ', '/', '\\', '..', '\u0000', '%00', '\uff0e'),
    )
    .map(([lead, middle, tail]) => `${lead.join('')}${middle.join('/')}${marker}${tail}`);
}
