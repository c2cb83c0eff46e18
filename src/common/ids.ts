import { createHash } from 'node:crypto';

/**
 * Model endpoint id: a stable hash of (project, function, tag, model, version), the same
 * recipe as the peer (`sha1("{project}_{function}_{tag}_{model}_{version}")`), so ids survive
 * restarts and match across processes.
 */
export function endpointId(parts: { project: string; function: string; tag?: string; model: string; version?: string }): string {
  const key = `${parts.project}_${parts.function}_${parts.tag ?? 'latest'}_${parts.model}_${parts.version ?? ''}`;
  return createHash('sha1').update(key).digest('hex');
}
