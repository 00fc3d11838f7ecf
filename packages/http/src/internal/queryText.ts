/**
 * Query values no store can hold (a NUL, or a lone surrogate where `%ED%A0%80`-style bytes were decoded leniently):
 * refused up front with a 400 naming the parameter, so every store answers alike. Bodies and ids are checked by the
 * engine itself (`Jobs` rejects such strings in any field, and no job has such an id).
 */
import type { Context } from "hono"
import type * as Problem from "../Problem.js"

const unsafe = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** The bad query parameters of a request, one error each. */
export const errors = (c: Context): ReadonlyArray<Problem.FieldError> => {
  const found: Array<Problem.FieldError> = []
  for (const [key, values] of Object.entries(c.req.queries())) {
    if (unsafe.test(key)) found.push({ path: "", message: "a query parameter name has a NUL or a lone surrogate" })
    else if (values.some((value) => unsafe.test(value))) {
      found.push({ path: key, message: "must not contain a NUL character or a lone surrogate" })
    }
  }
  return found
}
