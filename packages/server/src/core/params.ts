/**
 * Request parameters as the HTTP layer hands them over (every value of every name, so repeats are
 * visible) → one value per name. RFC 6749 §3.2: a parameter MUST NOT be sent twice, a parameter
 * without value is treated as omitted, unknown parameters are ignored.
 */
import { InvalidRequestError } from './errors/index.ts';

export type RawParams = ReadonlyMap<string, readonly string[]>;

/**
 * Picks the `known` parameters, rejecting any that repeats. Names in `multi` may repeat (RFC 8707
 * `resource`) and are returned as lists.
 */
export function normaliseParams(raw: RawParams, known: readonly string[], multi: readonly string[] = []): { single: Map<string, string>; lists: Map<string, string[]> } {
  const single = new Map<string, string>();
  const lists = new Map<string, string[]>();
  for (const name of known) {
    const values = raw.get(name);
    if (!values) continue;
    if (multi.includes(name)) {
      const present = values.filter((v) => v !== '');
      if (present.length) lists.set(name, present);
      continue;
    }
    if (values.length > 1) throw new InvalidRequestError(`parameter ${name} must not be repeated`).because('param_repeated', { parameter: name });
    if (values[0] !== '') single.set(name, values[0]!);
  }
  return { single, lists };
}

/** Parses an application/x-www-form-urlencoded body into every value of every name. */
export function parseForm(body: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(body)) {
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}
