/**
 * The CLI's two kinds of failure: a usage error (exit 2: a bad flag or argument, fix the command line) and a
 * runtime error (exit 1: the store, a job, a module). Both print as one line.
 */

/** The command line is wrong: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/** Exit codes of `jobloom`. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const

/** One readable line for any thrown value: its message (tagged errors have one), newlines folded. */
export const oneLine = (error: unknown): string => {
  const message =
    error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
      ? String((error as { message: unknown }).message)
      : String(error)
  const tag =
    typeof error === "object" && error !== null && "_tag" in error ? String((error as { _tag: unknown })._tag) : ""
  const text = message.trim() === "" || message === "An error has occurred" ? tag || "unknown error" : message
  const cause =
    typeof error === "object" && error !== null && "cause" in error && (error as { cause: unknown }).cause !== undefined
      ? oneLine((error as { cause: unknown }).cause)
      : ""
  const full = cause !== "" && !text.includes(cause) ? `${text}: ${cause}` : text
  return full.replace(/\s*\n\s*/g, " ").trim()
}
