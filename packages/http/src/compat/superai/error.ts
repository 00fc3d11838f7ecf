/** The error answer of the super.AI router, and the one shape check its bodies need. */

/** An error answer: `message` is what the SDK shows. Never 401 with "Token is expired." (the SDK would refresh). */
export class SuperaiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 500,
    message: string
  ) {
    super(message)
  }
}

/** Whether a JSON value is an object (not null, not an array). */
export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)
