import { sql, type Kysely, type Selectable } from 'kysely';
import type { TokenRecord } from '../auth/tokens.ts';
import { ConflictError, NotFoundError } from '../common/errors.ts';
import type { EndpointRecord } from '../common/types.ts';
import type { SqlBackend } from './backend.ts';
import { fromJson, num, numOrNull, toJson } from './codec.ts';
import { chunkRows, insertIgnore, retryBusy, upsert, writeTx, type DialectTraits } from './dialect.ts';
import type { Credentials, EndpointBump, FunctionRecord, FunctionStatus, LateCount, LateWindow, LateWindowQuery, ModelRecord, MonitoringEvent, ProjectRecord, Store, WindowClaim } from './port.ts';
import type { ApiTokensTable, Database } from './schema.ts';
import { bumpEndpointCounters, takeLease } from './store-atomic.ts';
import * as rows from './store-rows.ts';
import { bumpEndpointsSqlite } from './sqlite/bump-endpoints.ts';

/**
 * The platform store over any Kysely database (SQLite today; PostgreSQL and MySQL share the code,
 * differing only in {@link DialectTraits}). Multi-step writes run in transactions so that several
 * processes (server and workers) can share one database.
 */
export class KyselyStore implements Store {
  readonly url: string;
  private readonly backend: SqlBackend;
  private readonly db: Kysely<Database>;
  private readonly traits: DialectTraits;

  constructor(url: string, backend: SqlBackend) {
    this.url = url;
    this.backend = backend;
    this.db = backend.db;
    this.traits = backend.traits;
  }

  migrate(): Promise<void> {
    return this.backend.migrate();
  }

  close(): Promise<void> {
    return this.backend.release();
  }

  // ---- projects ------------------------------------------------------------------------------

  async createProject(p: ProjectRecord): Promise<void> {
    const n = await insertIgnore(this.db, this.traits, 'projects', [rows.projectToRow(p)]);
    if (n === 0) throw new ConflictError(`project '${p.name}' already exists`, { project: p.name });
  }

  async getProject(name: string): Promise<ProjectRecord | undefined> {
    const r = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
    return r && rows.rowToProject(r);
  }

  async listProjects(): Promise<ProjectRecord[]> {
    const rs = await this.db.selectFrom('projects').selectAll().orderBy('name').execute();
    return rs.map(rows.rowToProject);
  }

  async updateProject(name: string, patch: Partial<Omit<ProjectRecord, 'name' | 'createdAt'>>): Promise<void> {
    const u = rows.projectPatchToRow(patch);
    if (Object.keys(u).length > 0) await this.db.updateTable('projects').set(u).where('name', '=', name).execute();
    // Checked by reading rather than by the update count: MySQL counts only rows that changed.
    if (!(await this.getProject(name))) throw new NotFoundError('project', name);
  }

  /** Deletes the project and its platform data (functions, models, endpoints, state, events, credentials). */
  async deleteProject(name: string): Promise<void> {
    await writeTx(this.db, this.traits, async (tx) => {
      for (const table of ['functions', 'models', 'endpoints', 'analysis_state', 'monitoring_events', 'credentials', 'window_watermarks', 'late_windows'] as const) {
        await tx.deleteFrom(table).where('project', '=', name).execute();
      }
      await tx.deleteFrom('projects').where('name', '=', name).execute();
    });
  }

  // ---- functions -----------------------------------------------------------------------------

  async putFunction(f: FunctionRecord): Promise<void> {
    await upsert(this.db, this.traits, 'functions', [rows.functionToRow(f)], ['project', 'name']);
  }

  async getFunction(project: string, name: string): Promise<FunctionRecord | undefined> {
    const r = await this.db
      .selectFrom('functions')
      .selectAll()
      .where('project', '=', project)
      .where('name', '=', name)
      .executeTakeFirst();
    return r && rows.rowToFunction(r);
  }

  async listFunctions(project?: string): Promise<FunctionRecord[]> {
    let q = this.db.selectFrom('functions').selectAll();
    if (project !== undefined) q = q.where('project', '=', project);
    const rs = await q.orderBy('project').orderBy('name').execute();
    return rs.map(rows.rowToFunction);
  }

  async deleteFunction(project: string, name: string): Promise<void> {
    await this.db.deleteFrom('functions').where('project', '=', project).where('name', '=', name).execute();
  }

  async updateFunctionStatus(project: string, name: string, status: Partial<FunctionStatus>): Promise<void> {
    await writeTx(this.db, this.traits, async (tx) => {
      let q = tx.selectFrom('functions').select('status').where('project', '=', project).where('name', '=', name);
      if (this.traits.flavor !== 'sqlite') q = q.forUpdate();
      const r = await q.executeTakeFirst();
      if (!r) throw new NotFoundError('function', `${project}/${name}`);
      const merged = { ...fromJson<FunctionStatus>(r.status, { state: 'not-deployed' }), ...dropUndefined(status) };
      await tx
        .updateTable('functions')
        .set({ status: toJson(merged) })
        .where('project', '=', project)
        .where('name', '=', name)
        .execute();
    });
  }

  // ---- models --------------------------------------------------------------------------------

  async putModel(m: ModelRecord): Promise<void> {
    await upsert(this.db, this.traits, 'models', [rows.modelToRow(m)], ['project', 'model_key', 'tag']);
  }

  /** Without `tag`: the `latest` tag if there is one, else the most recently logged version. */
  async getModel(project: string, key: string, tag?: string): Promise<ModelRecord | undefined> {
    const base = this.db.selectFrom('models').selectAll().where('project', '=', project).where('model_key', '=', key);
    if (tag !== undefined) {
      const r = await base.where('tag', '=', tag).executeTakeFirst();
      return r && rows.rowToModel(r);
    }
    const r = await base
      .orderBy(sql`case when ${sql.ref('tag')} = 'latest' then 0 else 1 end`)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r && rows.rowToModel(r);
  }

  async listModels(project: string): Promise<ModelRecord[]> {
    const rs = await this.db.selectFrom('models').selectAll().where('project', '=', project).orderBy('model_key').orderBy('tag').execute();
    return rs.map(rows.rowToModel);
  }

  // ---- endpoints -----------------------------------------------------------------------------

  async createEndpointIfMissing(e: EndpointRecord): Promise<boolean> {
    return (await insertIgnore(this.db, this.traits, 'endpoints', [rows.endpointToRow(e)])) > 0;
  }

  async getEndpoint(project: string, id: string): Promise<EndpointRecord | undefined> {
    const r = await this.db.selectFrom('endpoints').selectAll().where('project', '=', project).where('id', '=', id).executeTakeFirst();
    return r && rows.rowToEndpoint(r);
  }

  async getEndpoints(project: string, ids: readonly string[]): Promise<EndpointRecord[]> {
    const out: EndpointRecord[] = [];
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const rs = await this.db.selectFrom('endpoints').selectAll().where('project', '=', project).where('id', 'in', unique.slice(i, i + ID_CHUNK)).execute();
      for (const r of rs) out.push(rows.rowToEndpoint(r));
    }
    return out;
  }

  async listEndpoints(project: string): Promise<EndpointRecord[]> {
    const rs = await this.db.selectFrom('endpoints').selectAll().where('project', '=', project).orderBy('name').orderBy('id').execute();
    return rs.map(rows.rowToEndpoint);
  }

  async listMonitoredEndpoints(project: string): Promise<{ id: string; firstRequest: number }[]> {
    const rs = await this.db
      .selectFrom('endpoints')
      .select(['id', 'first_request'])
      .where('project', '=', project)
      .where('monitoring_mode', '=', 'enabled')
      .where('first_request', 'is not', null)
      .orderBy('name')
      .orderBy('id')
      .execute();
    return rs.map((r) => ({ id: r.id, firstRequest: num(r.first_request as number | string | bigint) }));
  }

  async patchEndpoint(project: string, id: string, patch: Partial<Omit<EndpointRecord, 'project' | 'id'>>): Promise<void> {
    const u = rows.endpointPatchToRow(patch);
    const r =
      Object.keys(u).length > 0
        ? await this.db.updateTable('endpoints').set(u).where('project', '=', project).where('id', '=', id).executeTakeFirst()
        : undefined;
    if (r && r.numUpdatedRows > 0n) return;
    const found = await this.db.selectFrom('endpoints').select('id').where('project', '=', project).where('id', '=', id).executeTakeFirst();
    if (!found) throw new NotFoundError('model endpoint', id);
  }

  async patchEndpoints(project: string, patches: readonly { id: string; patch: Partial<Omit<EndpointRecord, 'project' | 'id'>> }[]): Promise<void> {
    const updates = patches.map((p) => ({ id: p.id, u: rows.endpointPatchToRow(p.patch) })).filter((p) => Object.keys(p.u).length > 0);
    if (updates.length === 0) return;
    await writeTx(this.db, this.traits, async (tx) => {
      for (const { id, u } of updates) await tx.updateTable('endpoints').set(u).where('project', '=', project).where('id', '=', id).execute();
    });
  }

  /** One UPDATE, so concurrent stream processors never lose each other's counts. Missing endpoints are ignored. */
  async bumpEndpoint(project: string, id: string, delta: EndpointBump): Promise<void> {
    await bumpEndpointCounters(this.db, project, id, delta);
  }

  async bumpEndpoints(project: string, deltas: ReadonlyMap<string, EndpointBump>): Promise<void> {
    if (deltas.size === 0) return;
    const ids = [...deltas.keys()].sort();
    const raw = this.backend.sqlite;
    if (raw) {
      // Holding the connection keeps every Kysely query (and transaction) off the handle meanwhile.
      await this.db.connection().execute(() => retryBusy(async () => bumpEndpointsSqlite(raw, project, ids, deltas)));
      return;
    }
    if (ids.length === 1) return this.bumpEndpoint(project, ids[0]!, deltas.get(ids[0]!)!);
    await writeTx(this.db, this.traits, async (tx) => {
      for (const id of ids) await bumpEndpointCounters(tx, project, id, deltas.get(id)!);
    });
  }

  // ---- controller state ----------------------------------------------------------------------

  async getLastAnalyzed(project: string, endpointId: string, app: string): Promise<number | undefined> {
    const r = await this.db
      .selectFrom('analysis_state')
      .select('last_window_end')
      .where('project', '=', project)
      .where('endpoint_id', '=', endpointId)
      .where('app', '=', app)
      .where('last_window_end', '!=', NO_MARK)
      .executeTakeFirst();
    return r ? num(r.last_window_end) : undefined;
  }

  async setLastAnalyzed(project: string, endpointId: string, app: string, windowEnd: number): Promise<void> {
    await upsert(this.db, this.traits, 'analysis_state', [{ project, endpoint_id: endpointId, app, last_window_end: windowEnd }], [
      'project',
      'endpoint_id',
      'app',
    ]);
  }

  async listLastAnalyzed(project: string, app: string): Promise<Map<string, number>> {
    const rs = await this.db
      .selectFrom('analysis_state')
      .select(['endpoint_id', 'last_window_end'])
      .where('project', '=', project)
      .where('app', '=', app)
      .where('last_window_end', '!=', NO_MARK)
      .execute();
    return new Map(rs.map((r) => [r.endpoint_id, num(r.last_window_end)]));
  }

  async setLastAnalyzedMany(project: string, app: string, windowEnds: ReadonlyMap<string, number>): Promise<void> {
    if (windowEnds.size === 0) return;
    const rs = [...windowEnds].map(([endpointId, end]) => ({ project, endpoint_id: endpointId, app, last_window_end: end }));
    await writeTx(this.db, this.traits, (tx) => upsert(tx, this.traits, 'analysis_state', rs, ['project', 'endpoint_id', 'app']));
  }

  /**
   * Rows are first made to exist for endpoints without a mark (holding {@link NO_MARK}). Then, in
   * one transaction, one UPDATE per (expected mark, end) group takes the claim only where the row
   * still holds the expected mark and no live claim — the engine re-checks that condition on the
   * row it locks, so of two racing calls one claims and the other finds the claim — and a SELECT
   * reads back what `claimId` got. The same statements on SQLite, PostgreSQL and MySQL.
   */
  async claimWindows(project: string, app: string, claims: readonly WindowClaim[], claimId: string, expiresAt: number, now: number): Promise<Set<string>> {
    if (claims.length === 0) return new Set();
    const fresh = claims.filter((c) => c.expected === undefined).map((c) => ({ project, endpoint_id: c.endpointId, app, last_window_end: NO_MARK }));
    if (fresh.length > 0) await insertIgnore(this.db, this.traits, 'analysis_state', fresh);
    const groups = new Map<string, { expected: number; end: number; ids: string[] }>();
    for (const c of claims) {
      const expected = c.expected ?? NO_MARK;
      const key = `${expected}:${c.end}`;
      const g = groups.get(key);
      if (g) g.ids.push(c.endpointId);
      else groups.set(key, { expected, end: c.end, ids: [c.endpointId] });
    }
    return writeTx(this.db, this.traits, async (tx) => {
      for (const { expected, end, ids } of groups.values()) {
        for (let i = 0; i < ids.length; i += ID_CHUNK) {
          await tx
            .updateTable('analysis_state')
            .set({ claim_holder: claimId, claim_end: end, claim_expires_at: expiresAt })
            .where('project', '=', project)
            .where('app', '=', app)
            .where('endpoint_id', 'in', ids.slice(i, i + ID_CHUNK))
            .where('last_window_end', '=', expected)
            .where((eb) => eb.or([eb('claim_holder', 'is', null), eb('claim_expires_at', '<', now)]))
            .execute();
        }
      }
      const got = await tx
        .selectFrom('analysis_state')
        .select('endpoint_id')
        .where('project', '=', project)
        .where('app', '=', app)
        .where('claim_holder', '=', claimId)
        .execute();
      return new Set(got.map((r) => r.endpoint_id));
    });
  }

  async completeClaims(project: string, app: string, claimId: string): Promise<number> {
    const r = await this.db
      .updateTable('analysis_state')
      .set((eb) => ({ last_window_end: eb.fn.coalesce('claim_end', 'last_window_end'), claim_holder: null, claim_end: null, claim_expires_at: null }))
      .where('project', '=', project)
      .where('app', '=', app)
      .where('claim_holder', '=', claimId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async releaseClaims(project: string, app: string, claimId: string): Promise<void> {
    await this.db
      .updateTable('analysis_state')
      .set({ claim_holder: null, claim_end: null, claim_expires_at: null })
      .where('project', '=', project)
      .where('app', '=', app)
      .where('claim_holder', '=', claimId)
      .execute();
  }

  // ---- watermarks and late predictions (migration 009) ----------------------------------------

  async getClosedThrough(project: string): Promise<number | undefined> {
    const r = await this.db.selectFrom('window_watermarks').select('closed_through').where('project', '=', project).executeTakeFirst();
    return r ? num(r.closed_through) : undefined;
  }

  async setClosedThrough(project: string, end: number, now: number): Promise<void> {
    await insertIgnore(this.db, this.traits, 'window_watermarks', [{ project, closed_through: end, updated_at: now }]);
    // Only forward: two controllers (a stalled one and its successor) may both write.
    await this.db
      .updateTable('window_watermarks')
      .set({ closed_through: end, updated_at: now })
      .where('project', '=', project)
      .where('closed_through', '<', end)
      .execute();
  }

  async analyzedThrough(project: string, endpointIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < endpointIds.length; i += ID_CHUNK) {
      const rs = await this.db
        .selectFrom('analysis_state')
        .select((eb) => ['endpoint_id', eb.fn.max('last_window_end').as('mark'), eb.fn.max('claim_end').as('claim')])
        .where('project', '=', project)
        .where('endpoint_id', 'in', endpointIds.slice(i, i + ID_CHUNK))
        .groupBy('endpoint_id')
        .execute();
      for (const r of rs) {
        const end = Math.max(num(r.mark), r.claim === null ? NO_MARK : num(r.claim));
        if (end !== NO_MARK) out.set(r.endpoint_id, end);
      }
    }
    return out;
  }

  async addLatePredictions(project: string, late: readonly LateCount[], now: number): Promise<void> {
    const rs = late
      .filter((l) => l.predictions > 0)
      .map((l) => ({ project, endpoint_id: l.endpointId, window_start: l.windowStart, window_end: l.windowEnd, predictions: l.predictions, first_late_at: now, last_late_at: now }));
    if (rs.length === 0) return;
    const perEndpoint = new Map<string, number>();
    for (const r of rs) perEndpoint.set(r.endpoint_id, (perEndpoint.get(r.endpoint_id) ?? 0) + r.predictions);
    await writeTx(this.db, this.traits, async (tx) => {
      for (const part of chunkRows(rs, this.traits)) {
        const q = tx.insertInto('late_windows').values(part);
        if (this.traits.flavor === 'mysql') {
          await q.onDuplicateKeyUpdate({ predictions: sql`predictions + values(predictions)`, last_late_at: sql`values(last_late_at)` }).execute();
        } else {
          await q
            .onConflict((oc) =>
              oc.columns(['project', 'endpoint_id', 'window_start']).doUpdateSet({
                predictions: sql`late_windows.predictions + excluded.predictions`,
                last_late_at: sql`excluded.last_late_at`,
              }),
            )
            .execute();
        }
      }
      // In the order of their ids, as bumpEndpoints does: two writers never wait for each other in a cycle.
      for (const id of [...perEndpoint.keys()].sort()) {
        await tx
          .updateTable('endpoints')
          .set((eb) => ({ late_predictions: eb('late_predictions', '+', perEndpoint.get(id)!) }))
          .where('project', '=', project)
          .where('id', '=', id)
          .execute();
      }
    });
  }

  async listLateWindows(project: string, q: LateWindowQuery = {}): Promise<LateWindow[]> {
    let query = this.db.selectFrom('late_windows').selectAll().where('project', '=', project);
    if (q.endpointId !== undefined) query = query.where('endpoint_id', '=', q.endpointId);
    if (q.pending) query = query.whereRef('predictions', '>', 'reanalyzed_predictions');
    query = query.orderBy('window_start', 'desc').orderBy('endpoint_id');
    if (q.limit !== undefined) query = query.limit(q.limit);
    return (await query.execute()).map((r) => ({
      endpointId: r.endpoint_id,
      windowStart: num(r.window_start),
      windowEnd: num(r.window_end),
      latePredictions: num(r.predictions),
      pendingPredictions: num(r.predictions) - num(r.reanalyzed_predictions),
      firstLateAt: num(r.first_late_at),
      lastLateAt: num(r.last_late_at),
      reanalyzedAt: numOrNull(r.reanalyzed_at),
    }));
  }

  async markReanalyzed(project: string, windows: readonly { endpointId: string; windowStart: number }[], now: number): Promise<void> {
    if (windows.length === 0) return;
    await writeTx(this.db, this.traits, async (tx) => {
      for (const w of windows) {
        await tx
          .updateTable('late_windows')
          .set((eb) => ({ reanalyzed_predictions: eb.ref('predictions'), reanalyzed_at: now }))
          .where('project', '=', project)
          .where('endpoint_id', '=', w.endpointId)
          .where('window_start', '=', w.windowStart)
          .execute();
      }
    });
  }

  /** Atomic across processes; see {@link takeLease}. */
  async acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    return writeTx(this.db, this.traits, (tx) => takeLease(tx, this.traits, name, holder, now + ttlMs, now));
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
  }

  async leaseHolder(name: string, now: number): Promise<string | undefined> {
    const r = await this.db.selectFrom('leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
    // The same rule as takeLease: a lease is held up to and including its expiry time.
    return r && num(r.expires_at) >= now ? r.holder : undefined;
  }

  // ---- monitoring events ---------------------------------------------------------------------

  /**
   * Records each event once: one of the same (project, endpoint, app, result name, window start,
   * kind) as an event stored already is left out (a writer batch delivered again after a crash).
   */
  async addEvents(events: MonitoringEvent[]): Promise<void> {
    if (events.length === 0) return;
    await writeTx(this.db, this.traits, (tx) => insertIgnore(tx, this.traits, 'monitoring_events', events.map(rows.eventToRow)));
  }

  /** Newest first. */
  async listEvents(
    project: string,
    filter: { endpointId?: string; kind?: string; since?: number; limit?: number } = {},
  ): Promise<MonitoringEvent[]> {
    let q = this.db.selectFrom('monitoring_events').selectAll().where('project', '=', project);
    if (filter.endpointId !== undefined) q = q.where('endpoint_id', '=', filter.endpointId);
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    if (filter.since !== undefined) q = q.where('time', '>=', filter.since);
    q = q.orderBy('time', 'desc').orderBy('id', 'desc');
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    return (await q.execute()).map(rows.rowToEvent);
  }

  // ---- credentials ---------------------------------------------------------------------------

  async getCredentials(project: string): Promise<Credentials | undefined> {
    const r = await this.db.selectFrom('credentials').select('data').where('project', '=', project).executeTakeFirst();
    return r ? fromJson<Credentials>(r.data, {}) : undefined;
  }

  async setCredentials(project: string, creds: Credentials): Promise<void> {
    await upsert(this.db, this.traits, 'credentials', [{ project, data: toJson(dropUndefined(creds)) }], ['project']);
  }

  // ---- API tokens (migration 008) --------------------------------------------------------------

  async createToken(t: TokenRecord): Promise<void> {
    const row = { id: t.id, name: t.name, role: t.role, project: t.project, hash: t.hash, created_at: t.createdAt, revoked_at: t.revokedAt };
    if ((await insertIgnore(this.db, this.traits, 'api_tokens', [row])) === 0) throw new ConflictError(`token '${t.id}' exists`);
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const r = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return r && rowToToken(r);
  }

  async listTokens(filter: { project?: string } = {}): Promise<TokenRecord[]> {
    let q = this.db.selectFrom('api_tokens').selectAll();
    if (filter.project !== undefined) q = q.where('project', '=', filter.project);
    return (await q.orderBy('created_at').orderBy('id').execute()).map(rowToToken);
  }

  async revokeToken(id: string, at: number): Promise<boolean> {
    await this.db.updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    return (await this.getToken(id)) !== undefined;
  }
}

/** Ids per `in (...)` list: well within every engine's parameter limit. */
const ID_CHUNK = 1000;

/**
 * `analysis_state.last_window_end` of an endpoint claimed before it had a mark (window ends are
 * epoch milliseconds, never negative); reads treat it as no mark.
 */
const NO_MARK = -1;

function rowToToken(r: Selectable<ApiTokensTable>): TokenRecord {
  return { id: r.id, name: r.name, role: r.role as TokenRecord['role'], project: r.project, hash: r.hash, createdAt: num(r.created_at), revokedAt: r.revoked_at === null ? null : num(r.revoked_at) };
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
