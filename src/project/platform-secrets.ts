import { ModelwatchError } from '../common/errors.ts';
import { MASK, redactSecrets } from '../common/redact.ts';
import { createSecretKeyFile, decryptSecret, encryptSecret, isSealed, readSecretKey, sealedKeyId, SECRET_KEY_ENV, SECRET_KEY_FILE, type SecretKey } from '../common/secret-box.ts';
import type { Credentials, FunctionRecord, Store } from '../store/port.ts';

const CREDENTIAL_FIELDS = ['endpointStoreConnection', 'tsdbConnection', 'streamPath'] as const;

/** The parts of a serving function's spec this file reads (see `ServingSpec`). */
interface SpecWithTracking {
  tracking?: { streamPath?: string };
}

/**
 * The secrets a platform stores — project credentials and a serving function's
 * `tracking.streamPath` — sealed at rest with the installation's key (see `common/secret-box.ts`),
 * opened for the code that connects, and redacted for every reader. Values stored in the clear by
 * an earlier version still open; they are sealed on their next write, or by {@link sealPlaintext}.
 */
export class PlatformSecrets {
  private found: SecretKey | undefined;

  constructor(
    private readonly store: Store,
    private readonly home: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /**
   * The key: `MODELWATCH_SECRET_KEY`, else `<home>/secret.key`; undefined when neither exists yet
   * (looked for again on the next call: another process may create the file).
   */
  key(): SecretKey | undefined {
    this.found ??= readSecretKey(this.home, this.env);
    return this.found;
  }

  /**
   * The key to seal with, creating `<home>/secret.key` on first need — unless the store already
   * holds values sealed by a key this process lacks: a second key would make them unreadable to
   * one side or the other, so that fails with what to do instead.
   */
  async sealingKey(): Promise<SecretKey> {
    const key = this.key();
    if (key) return key;
    const other = await this.anySealedKeyId();
    if (other !== undefined) {
      throw new ModelwatchError(
        'secret_key_unavailable',
        `this installation's secrets are encrypted with key ${other}, which this process lacks: set ${SECRET_KEY_ENV} to the key (base64), ` +
          `or copy the server's ${SECRET_KEY_FILE} into ${this.home}`,
        { details: { keyId: other } },
      );
    }
    this.found = createSecretKeyFile(this.home);
    return this.found;
  }

  /** Seals a secret for storing. */
  async seal(plain: string): Promise<string> {
    return encryptSecret(plain, await this.sealingKey());
  }

  /** Opens a stored secret; `what` names it in errors. */
  open(value: string, what: string): string {
    return decryptSecret(value, isSealed(value) ? this.key() : undefined, what);
  }

  /** A project's credentials, opened. */
  async getCredentials(project: string): Promise<Credentials | undefined> {
    const stored = await this.store.getCredentials(project);
    if (!stored) return undefined;
    const out: Credentials = {};
    for (const k of CREDENTIAL_FIELDS) {
      const v = stored[k];
      if (v !== undefined) out[k] = this.open(v, `the ${k} of project '${project}'`);
    }
    return out;
  }

  /** Stores a project's credentials, every value sealed. */
  async setCredentials(project: string, creds: Credentials): Promise<void> {
    const sealed: Credentials = {};
    for (const k of CREDENTIAL_FIELDS) {
      const v = creds[k];
      if (v !== undefined) sealed[k] = await this.seal(v);
    }
    await this.store.setCredentials(project, sealed);
  }

  /**
   * A serving spec ready to store: its `tracking.streamPath` sealed. A read API shows that value
   * redacted, so a client that loads a function, changes its models and saves it sends the
   * redacted form back: when that matches the stored value's redaction, the stored value is kept.
   */
  async sealServingSpec<T extends object>(spec: T, existing?: Record<string, unknown>): Promise<T> {
    const tracking = (spec as SpecWithTracking).tracking;
    const given = tracking?.streamPath;
    if (!tracking || given === undefined || isSealed(given)) return spec;
    const before = (existing as SpecWithTracking | undefined)?.tracking?.streamPath;
    const streamPath = before !== undefined && isSealed(before) && this.redactedStreamPath(before) === given ? before : await this.seal(given);
    return { ...spec, tracking: { ...tracking, streamPath } };
  }

  /** The stream a serving function tracks to, opened (undefined: the project's stream). */
  trackingStreamPath(fn: FunctionRecord): string | undefined {
    const v = (fn.spec as SpecWithTracking).tracking?.streamPath;
    return v === undefined ? undefined : this.open(v, `the tracking streamPath of function '${fn.name}'`);
  }

  /** A function record as read APIs show it: its stream path and last error redacted. */
  redactFunction(fn: FunctionRecord): FunctionRecord {
    const tracking = (fn.spec as SpecWithTracking).tracking;
    const lastError = fn.status.lastError;
    return {
      ...fn,
      ...(tracking?.streamPath !== undefined ? { spec: { ...fn.spec, tracking: { ...tracking, streamPath: this.redactedStreamPath(tracking.streamPath) } } } : {}),
      ...(lastError !== undefined ? { status: { ...fn.status, lastError: redactSecrets(lastError) } } : {}),
    };
  }

  /**
   * Seals what earlier versions stored in the clear (credentials, tracking stream paths); `up`
   * runs it at start. A function keeps its `updatedAt`, so that its worker is not restarted.
   */
  async sealPlaintext(): Promise<{ credentials: number; functions: number }> {
    let credentials = 0;
    let functions = 0;
    for (const p of await this.store.listProjects()) {
      const stored = await this.store.getCredentials(p.name);
      if (stored && CREDENTIAL_FIELDS.some((k) => stored[k] !== undefined && !isSealed(stored[k]))) {
        await this.setCredentials(p.name, (await this.getCredentials(p.name))!);
        credentials++;
      }
    }
    for (const f of await this.store.listFunctions()) {
      const v = (f.spec as SpecWithTracking).tracking?.streamPath;
      if (f.kind !== 'serving' || v === undefined || isSealed(v)) continue;
      // Read again just before writing: a worker may have written its status meanwhile.
      const now = await this.store.getFunction(f.project, f.name);
      if (!now) continue;
      await this.store.putFunction({ ...now, spec: await this.sealServingSpec(now.spec) });
      functions++;
    }
    return { credentials, functions };
  }

  private redactedStreamPath(v: string): string {
    try {
      return redactSecrets(this.open(v, 'a tracking streamPath'));
    } catch {
      return MASK;
    }
  }

  /** The id of a key that sealed some stored value, if any value is sealed. */
  private async anySealedKeyId(): Promise<string | undefined> {
    for (const p of await this.store.listProjects()) {
      const c = await this.store.getCredentials(p.name);
      for (const k of CREDENTIAL_FIELDS) {
        const id = c?.[k] === undefined ? undefined : sealedKeyId(c[k]);
        if (id !== undefined) return id;
      }
    }
    for (const f of await this.store.listFunctions()) {
      const v = (f.spec as SpecWithTracking).tracking?.streamPath;
      const id = v === undefined ? undefined : sealedKeyId(v);
      if (id !== undefined) return id;
    }
    return undefined;
  }
}
