import fs from 'node:fs';

/*
 * The home folder and the database files hold credentials, models and every prediction: only their
 * owner may read them, whatever the umask. Existing ones (made by an earlier version, 0755/0644)
 * are tightened when opened.
 */

/** Creates `dir` (and its parents) if needed, and takes the group's and others' access away from it. */
export function makePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  restrict(dir);
}

/**
 * Makes a SQLite database file private before SQLite opens it: creates it empty with mode 0600
 * when it does not exist (SQLite takes an empty file for a new database, and creates its `-wal`,
 * `-shm` and `-journal` files with the database file's mode), or takes the group's and others'
 * access away from it and from those companion files.
 */
export function makePrivateDatabaseFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600));
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) restrict(f);
}

/** Clears the group and other bits of an existing path; one that is gone, or not ours to change, is left alone. */
function restrict(p: string): void {
  try {
    const mode = fs.statSync(p).mode & 0o777;
    if (mode & 0o077) fs.chmodSync(p, mode & 0o700);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM') throw err;
  }
}
