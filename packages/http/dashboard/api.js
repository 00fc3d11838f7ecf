// The jobs API as the page sees it: JSON requests with problem+json errors, and event streams.

const config = JSON.parse(document.querySelector('meta[name="jobloom-config"]').content)

/** The page's settings from the server: the API's path, the title, and the statuses each action is allowed from. */
export const settings = config

/** An error answer of the API, with its problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`)
    this.status = status
    this.problem = problem
  }
}

/** A URL of the API with query parameters (undefined and empty values left out). */
export const url = (path, query = {}) => {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value))
  }
  const text = params.toString()
  return `${config.api}${path}${text ? `?${text}` : ""}`
}

/** A JSON request; an answer of 400 and up throws an {@link ApiError}. */
export const request = async (method, path, { query, body } = {}) => {
  const response = await fetch(url(path, query), {
    method,
    headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    credentials: "same-origin"
  })
  const text = await response.text()
  const data = text === "" ? null : safeJson(text)
  if (!response.ok) throw new ApiError(response.status, data)
  return data
}

const safeJson = (text) => {
  try {
    return JSON.parse(text)
  } catch {
    return { detail: text }
  }
}

/** `GET` as JSON. */
export const get = (path, query) => request("GET", path, { query })

/** A problem's message with the fields it names: `409: … (currentStatus RUNNING)`. */
export const describeError = (error) => {
  if (!(error instanceof ApiError)) return String(error?.message ?? error)
  const fields = (error.problem?.errors ?? []).map((e) => `${e.path || "body"}: ${e.message}`)
  const current = error.problem?.currentStatus ? ` (current status ${error.problem.currentStatus})` : ""
  return `${error.status} ${error.problem?.title ?? ""}: ${error.message}${current}${fields.length ? ` — ${fields.join("; ")}` : ""}`
}

/**
 * Follows an event stream of the API. `handlers` maps event names to functions; `onState` hears "live",
 * "reconnecting". Returns a function that closes it. The browser reconnects by itself; the server then sends a
 * fresh snapshot.
 */
export const stream = (path, query, handlers, onState = () => {}) => {
  const source = new EventSource(url(path, query))
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => handler(JSON.parse(event.data)))
  }
  source.addEventListener("open", () => onState("live"))
  source.addEventListener("error", () => onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting"))
  return () => source.close()
}

/** Sets the header's live indicator. */
export const setLive = (state) => {
  const el = document.getElementById("live")
  if (!el) return
  el.textContent = state === "live" ? "live" : state === "idle" ? "" : state
  el.dataset.state = state
}
