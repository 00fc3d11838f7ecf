// Small DOM helpers: elements are built with textContent only (never HTML from data), and the shared widgets.

/** Creates an element: `h("a", { href: "#/" , class: "x", onclick: f }, "text", child)`. */
export const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value)
    else if (key === "class") el.className = value
    else if (key === "dataset") Object.assign(el.dataset, value)
    else if (value === true) el.setAttribute(key, "")
    else el.setAttribute(key, String(value))
  }
  append(el, children)
  return el
}

/** Appends children (strings, nodes, arrays, nullish skipped). */
export const append = (el, children) => {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

/** Replaces an element's children. */
export const replace = (el, ...children) => {
  el.replaceChildren()
  return append(el, children)
}

/** The statuses, in the engine's order. */
export const statuses = [
  "CREATED",
  "QUEUED",
  "RUNNING",
  "PAUSING",
  "PAUSED",
  "CANCELLING",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
  "TIMED_OUT"
]
export const terminal = ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]
export const isTerminal = (status) => terminal.includes(status)

/** A status chip; `live` ones (running) pulse. */
export const chip = (status) =>
  h("span", { class: `chip chip-${status.toLowerCase()}`, "data-status": status }, status.replace("_", " "))

/** A progress bar with a label; the width is set through the CSSOM, which the policy allows. */
export const bar = (value, label, status) => {
  const fill = h("span", { class: "bar-fill" })
  const el = h(
    "span",
    {
      class: `bar${status ? ` bar-${status.toLowerCase()}` : ""}`,
      role: "progressbar",
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": Math.round(value * 100),
      "aria-label": label ?? "progress"
    },
    fill
  )
  fill.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`
  return el
}

/** Percent text of a [0, 1] value. */
export const percent = (value) => `${Math.round((value ?? 0) * 100)}%`

const pad = (n) => String(n).padStart(2, "0")

/** A local date-time, short: `2026-12-01 23:40:16`; empty for null. */
export const time = (iso) => {
  if (iso === null || iso === undefined) return ""
  const d = new Date(iso)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** A local time, short: `23:40:16` today, `12-01 23:40` on another day of this year, else the date. */
export const shortTime = (iso) => {
  const d = new Date(iso)
  const now = new Date()
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`
  if (d.toDateString() === now.toDateString()) return `${hm}:${pad(d.getSeconds())}`
  if (d.getFullYear() === now.getFullYear()) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** A `<time>` element with the full local time as its title; `short` for table cells. */
export const timeEl = (iso, short = false) =>
  iso
    ? h("time", { datetime: iso, title: time(iso) }, short ? shortTime(iso) : time(iso))
    : h("span", { class: "muted" }, "—")

/** A duration in ms as `850 ms`, `12.3 s`, `4 m 05 s`, `2 h 03 m`. */
export const duration = (ms) => {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return ""
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} m ${pad(Math.floor(s % 60))} s`
  return `${Math.floor(m / 60)} h ${pad(m % 60)} m`
}

/** How long a job ran: finished − started, or now − started while it runs. */
export const runTime = (job) => {
  if (job.startedAt === null) return null
  const end = job.finishedAt === null ? Date.now() : Date.parse(job.finishedAt)
  return end - Date.parse(job.startedAt)
}

/** The stage a job is at: the running one, else the last that started, else the first. */
export const currentStage = (progress) => {
  const stages = progress?.stages ?? []
  return (
    stages.find((s) => s.status === "RUNNING") ??
    [...stages].reverse().find((s) => s.status !== "CREATED" && s.status !== "QUEUED") ??
    stages[0]
  )
}

/** Pretty JSON in a `<pre>`. */
export const jsonBlock = (value, cls = "json") => h("pre", { class: cls, tabindex: 0 }, JSON.stringify(value, null, 2))

/** A short id: the end of a UUIDv7, which is where they differ. */
export const shortId = (id) => (id.length > 12 ? `…${id.slice(-8)}` : id)

/** Shows a message in the page's alert region for a few seconds. */
export const toast = (message, kind = "error") => {
  const el = document.getElementById("toast")
  el.textContent = message
  el.className = `toast toast-${kind}`
  el.hidden = false
  clearTimeout(toast.timer)
  toast.timer = setTimeout(() => (el.hidden = true), 6000)
}
