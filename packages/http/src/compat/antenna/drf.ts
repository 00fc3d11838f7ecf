/**
 * Django REST framework's conventions, as Antenna's server answers and its UI parses them: `{"detail": "…"}` for a
 * request-level error, `{"field": ["message"]}` for field errors, limit/offset pages with absolute `next`/`previous`
 * URLs, `Allow` and `Vary` headers, and the metadata an `OPTIONS` request returns.
 */
import type { Context } from "hono"

/** A DRF error answer: status and body. Thrown by handlers, answered by the router's error handler. */
export class DrfError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>
  ) {
    super(typeof body.detail === "string" ? body.detail : JSON.stringify(body))
  }
}

/** A request-level error (`{"detail": …}`). */
export const detail = (status: number, message: string): DrfError => new DrfError(status, { detail: message })

/** Field errors (`{"field": ["message", …]}`), a 400. */
export const fields = (errors: Record<string, ReadonlyArray<string>>): DrfError => new DrfError(400, errors)

/** DRF's messages for the statuses the router answers with a `detail`. */
export const messages = {
  notFound: "Not found.",
  forbidden: "You do not have permission to perform this action.",
  server: "A server error occurred.",
  methodNotAllowed: (method: string) => `Method "${method}" not allowed.`,
  unsupportedMedia: (media: string) => `Unsupported media type "${media}" in request.`,
  parse: (message: string) => `JSON parse error - ${message}`,
  required: "This field is required.",
  integer: "A valid integer is required.",
  boolean: "Must be a valid boolean."
} as const

/** DRF's `url_boolean_param`-style flag: present with an empty value, `1`, `true`, `yes` or `on` is true. */
export const flag = (value: string | undefined): boolean | undefined =>
  value === undefined ? undefined : ["", "1", "true", "yes", "on"].includes(value.trim().toLowerCase())

/** A positive integer as DRF's pagination reads one (anything else: the fallback), capped at `max`. */
export const positiveInt = (value: string | undefined, fallback: number, max: number, strict = true): number => {
  if (value === undefined || !/^[0-9]{1,15}$/.test(value.trim())) return fallback
  const n = Number(value.trim())
  if (strict && n === 0) return fallback
  return Math.min(n, max)
}

/** The request URL with `limit` and `offset` set (offset 0 is left out, as DRF does). */
const pageUrl = (url: URL, limit: number, offset: number): string => {
  const next = new URL(url.href)
  next.searchParams.set("limit", String(limit))
  if (offset <= 0) next.searchParams.delete("offset")
  else next.searchParams.set("offset", String(offset))
  return next.href
}

/** `next` and `previous` of a LimitOffset page, as absolute URLs or null. */
export const pageLinks = (
  url: URL,
  page: { readonly limit: number; readonly offset: number; readonly count: number }
): { readonly next: string | null; readonly previous: string | null } => ({
  next: page.offset + page.limit < page.count ? pageUrl(url, page.limit, page.offset + page.limit) : null,
  previous: page.offset <= 0 ? null : pageUrl(url, page.limit, Math.max(0, page.offset - page.limit))
})

/** The `Allow` value of a list route and of a detail route. */
export const allow = {
  list: "GET, POST, HEAD, OPTIONS",
  detail: "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
  action: "POST, OPTIONS"
} as const

/** Sets the headers DRF sends with every answer of a view. */
export const viewHeaders = (c: Context, allowed: string): void => {
  c.header("allow", allowed)
  c.header("vary", "Accept")
}

/** Field metadata of the create/edit body, as DRF's `SimpleMetadata` describes a serializer's writable fields. */
const writableFields = {
  name: { type: "string", required: true, read_only: false, label: "Name", max_length: 255 },
  delay: { type: "integer", required: false, read_only: false, label: "Delay", min_value: 0 },
  limit: { type: "integer", required: false, read_only: false, label: "Limit" },
  shuffle: { type: "boolean", required: false, read_only: false, label: "Shuffle" },
  project_id: { type: "field", required: true, read_only: false, label: "Project" },
  deployment_id: { type: "field", required: false, read_only: false, label: "Deployment" },
  pipeline_id: { type: "field", required: false, read_only: false, label: "Pipeline" },
  source_image_collection_id: { type: "field", required: false, read_only: false, label: "Source image collection" },
  source_image_single_id: { type: "field", required: false, read_only: false, label: "Source image single" },
  job_type_key: { type: "string", required: false, read_only: false, label: "Job type key" },
  params: { type: "nested object", required: false, read_only: false, label: "Params (jobloom)" }
} as const

const description =
  "API endpoint that allows jobs to be viewed or edited.\n\n" +
  "Pass the start_now url parameter to the POST method to enqueue the job immediately.\n\n" +
  "Use the delay field to create a test job with fake duration of work (in seconds)."

/** The body of an `OPTIONS` answer (DRF `SimpleMetadata`), for the list (with POST) or a job (with PUT). */
export const optionsBody = (kind: "list" | "detail", canWrite: boolean): Record<string, unknown> => ({
  name: kind === "list" ? "Job List" : "Job Instance",
  description,
  renders: ["application/json"],
  parses: ["application/json"],
  ...(canWrite ? { actions: { [kind === "list" ? "POST" : "PUT"]: writableFields } } : {})
})
