/**
 * Input that no store can keep faithfully: strings with a NUL character (PostgreSQL text and jsonb refuse it) or a
 * lone UTF-16 surrogate (SQLite stores U+FFFD instead, PostgreSQL refuses it), and values nested deeper than
 * {@link maxDepth} (validating or encoding them would overflow the stack). Both stores then answer alike: a 400
 * naming the field, before anything is stored. The walk is iterative, so no depth overflows it.
 */
import type { Issue } from "../JobError.js"

/** How deep a value may nest (objects and arrays), counted from the field that holds it. */
export const maxDepth = 64

const unsafe = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Whether a string has a NUL or a lone surrogate. */
export const isUnsafeText = (s: string): boolean => unsafe.test(s)

const messageOf = (s: string) =>
  s.includes("\u0000") ? "must not contain a NUL character" : "must be valid Unicode (a lone surrogate)"

const join = (path: string, key: string | number) =>
  typeof key === "number" ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`

/**
 * The first problem in `value`: a bad string (or object key) named by its path under `prefix`, or a nesting deeper
 * than {@link maxDepth} below a field (named by that field's path).
 */
export const inspect = (value: unknown, prefix: string): Issue | undefined => {
  if (typeof value === "string") return isUnsafeText(value) ? { path: prefix, message: messageOf(value) } : undefined
  if (typeof value !== "object" || value === null) return undefined
  // [value, path, depth below its top-level field, that field's path]
  const stack: Array<[unknown, string, number, string]> = [[value, prefix, -1, prefix]]
  while (stack.length > 0) {
    const [current, path, depth, field] = stack.pop()!
    if (typeof current === "string") {
      if (isUnsafeText(current)) return { path, message: messageOf(current) }
      continue
    }
    if (typeof current !== "object" || current === null) continue
    if (depth >= maxDepth) return { path: field, message: `must not nest deeper than ${maxDepth} levels` }
    const entries: Array<[string | number, unknown]> = Array.isArray(current)
      ? current.map((item, i) => [i, item])
      : Object.entries(current)
    for (const [key, item] of entries) {
      const at = join(path, key)
      if (typeof key === "string" && isUnsafeText(key)) return { path: at, message: messageOf(key) }
      stack.push([item, at, depth + 1, depth < 0 ? at : field])
    }
  }
  return undefined
}
