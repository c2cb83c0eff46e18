/**
 * The media type of a `Content-Type` header without its parameters, lower-cased
 * (`Application/JSON; charset=utf-8` → `application/json`); undefined when there is none.
 */
export function mediaType(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const type = value.split(';', 1)[0]!.trim().toLowerCase();
  return type === '' ? undefined : type;
}

/**
 * Whether a `Content-Type` header says JSON (`application/json`, any parameters). Browsers send
 * it across sites only after a CORS preflight, which a server without CORS headers fails, unlike
 * `text/plain`, `application/x-www-form-urlencoded` and `multipart/form-data`, which any page can
 * send with a form or `fetch(..., { mode: 'no-cors' })`.
 */
export function isJsonContentType(header: string | string[] | undefined): boolean {
  return mediaType(header) === 'application/json';
}
