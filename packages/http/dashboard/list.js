// The jobs list: server-side filters, sort and cursor paging, counts per status, and live rows from `GET /events`.
import { describeError, get, setLive, stream } from "./api.js"
import {
  bar,
  chip,
  currentStage,
  duration,
  h,
  isTerminal,
  percent,
  replace,
  runTime,
  shortId,
  statuses,
  timeEl
} from "./dom.js"

const pageSize = 50
const filterKeys = ["status", "type", "queue", "owner", "tag", "batchId", "q"]
const sorts = ["createdAt", "updatedAt", "startedAt", "finishedAt", "priority", "name"]

/** The columns: header text, and the cell of a job. `wide` ones hide on narrow screens. */
const columns = [
  [
    "Job",
    (job) => [
      h("a", { href: `#/jobs/${job.id}`, class: "job-link" }, job.name),
      h("small", { class: "id" }, shortId(job.id))
    ]
  ],
  ["Status", (job) => chip(job.status)],
  ["Progress", (job) => progressCell(job)],
  ["Type", (job) => h("code", {}, job.type)],
  ["Queue", (job) => job.queue, "wide"],
  ["Owner", (job) => job.owner ?? h("span", { class: "muted" }, "—"), "wide"],
  [
    "Tags",
    (job) => job.tags.map((tag) => h("a", { class: "tag", href: `#/?tag=${encodeURIComponent(tag)}` }, tag)),
    "wide"
  ],
  ["Created", (job) => timeEl(job.createdAt, true)],
  ["Started", (job) => timeEl(job.startedAt, true), "wide"],
  ["Finished", (job) => timeEl(job.finishedAt, true), "wide"],
  ["Duration", (job) => h("span", { class: "duration" }, duration(runTime(job)))],
  ["Attempt", (job) => `${job.attempt}/${job.maxAttempts}`]
]

const progressCell = (job) => {
  const stage = currentStage(job.progress)
  const value = job.progress?.summary?.progress ?? 0
  return h(
    "div",
    { class: "progress-cell" },
    bar(value, `${job.name} progress`, job.status),
    h("small", {}, stage ? `${stage.name} · ${percent(value)}` : percent(value))
  )
}

/**
 * Renders the list into `root`. `query` is the hash's query; `fixed` filters cannot be changed from the form (a
 * batch's page). Returns the cleanup.
 */
export const renderList = (root, query, { fixed = {}, title = "Jobs", onChange = () => {} } = {}) => {
  const filters = { ...Object.fromEntries(filterKeys.map((k) => [k, query.get(k) ?? ""])), ...fixed }
  const sort = sorts.includes(query.get("sort")) ? query.get("sort") : "createdAt"
  const order = query.get("order") === "asc" ? "asc" : "desc"
  const cursor = query.get("cursor") ?? ""
  const rows = new Map()
  const cleanups = []

  const tbody = h("tbody")
  const table = h(
    "table",
    { class: "jobs" },
    h("caption", { class: "sr-only" }, title),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map(([name, , wide]) => h("th", { scope: "col", class: wide ?? "" }, name))
      )
    ),
    tbody
  )
  const empty = h("p", { class: "empty", hidden: true }, "No jobs match these filters.")
  const counts = h("div", { class: "counts", role: "group", "aria-label": "Jobs per status" })
  const pager = h("nav", { class: "pager", "aria-label": "Pages" })
  const notice = h("p", { class: "notice", hidden: true })

  const hrefWith = (changes) => {
    const next = new URLSearchParams(query)
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined || v === "") next.delete(k)
      else next.set(k, v)
    }
    const text = next.toString()
    return `${location.hash.split("?")[0] || "#/"}${text ? `?${text}` : ""}`
  }
  const go = (changes) => (location.hash = hrefWith({ cursor: undefined, ...changes }))

  // ---- the filter form ----
  const field = (label, control) => h("label", { class: "field" }, h("span", {}, label), control)
  const select = (name, options, value) =>
    h(
      "select",
      { name, disabled: name in fixed, onchange: (e) => go({ [name]: e.target.value }) },
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))
    )
  const text = (name, placeholder) =>
    h("input", {
      name,
      type: "search",
      value: filters[name],
      placeholder,
      disabled: name in fixed,
      autocomplete: "off"
    })
  const typeSelect = select("type", [["", "any type"]], filters.type)
  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e) => {
        e.preventDefault()
        const data = new FormData(form)
        go(
          Object.fromEntries(
            ["queue", "owner", "tag", "batchId", "q"]
              .filter((k) => !(k in fixed))
              .map((k) => [k, data.get(k)?.trim() ?? ""])
          )
        )
      }
    },
    field(
      "Status",
      select(
        "status",
        [["", "any status"], ["active", "active"], ["terminal", "terminal"], ...statuses.map((s) => [s, s])],
        filters.status
      )
    ),
    field("Type", typeSelect),
    field("Queue", text("queue", "default")),
    field("Owner", text("owner", "owner")),
    field("Tag", text("tag", "tag")),
    field("Batch", text("batchId", "batch id")),
    field("Search", text("q", "name or params")),
    field(
      "Sort",
      select(
        "sort",
        sorts.map((s) => [s, s]),
        sort
      )
    ),
    field(
      "Order",
      select(
        "order",
        [
          ["desc", "newest first"],
          ["asc", "oldest first"]
        ],
        order
      )
    ),
    h(
      "div",
      { class: "field buttons" },
      h("button", { type: "submit" }, "Apply"),
      h(
        "a",
        {
          class: "button secondary",
          href: hrefWith(
            Object.fromEntries(
              [...filterKeys, "sort", "order", "cursor"].filter((k) => !(k in fixed)).map((k) => [k, undefined])
            )
          )
        },
        "Clear"
      )
    )
  )

  replace(
    root,
    h("div", { class: "heading" }, h("h1", {}, title), h("a", { class: "button", href: "#/new" }, "New job")),
    counts,
    form,
    notice,
    h("div", { class: "table-wrap" }, table),
    empty,
    pager
  )

  get("/job-types")
    .then(({ items }) => {
      for (const type of items)
        typeSelect.append(
          h("option", { value: type.key, selected: type.key === filters.type }, `${type.name} (${type.key})`)
        )
    })
    .catch(() => {})

  // ---- counts per status ----
  const statsQuery = Object.fromEntries(["type", "queue", "owner", "tag", "batchId"].map((k) => [k, filters[k]]))
  let statsTimer
  const loadStats = () =>
    get("/jobs/stats", statsQuery)
      .then((stats) => {
        replace(
          counts,
          h(
            "a",
            {
              class: `count${filters.status === "" ? " current" : ""}`,
              href: hrefWith({ status: undefined, cursor: undefined })
            },
            h("b", {}, stats.total),
            " all"
          ),
          statuses.map((s) =>
            h(
              "a",
              {
                class: `count count-${s.toLowerCase()}${filters.status === s ? " current" : ""}`,
                href: hrefWith({ status: s, cursor: undefined }),
                "aria-label": `${stats.byStatus[s]} ${s}`
              },
              h("b", {}, stats.byStatus[s] ?? 0),
              ` ${s.replace("_", " ").toLowerCase()}`
            )
          )
        )
      })
      .catch(() => {})
  const refreshStats = () => {
    if (statsTimer !== undefined) return
    statsTimer = setTimeout(() => {
      statsTimer = undefined
      loadStats()
    }, 1000)
  }
  cleanups.push(() => clearTimeout(statsTimer))
  loadStats()

  // ---- rows ----
  const rowOf = (job) => {
    const tr = h(
      "tr",
      { dataset: { id: job.id, status: job.status } },
      columns.map(([name, cell, wide]) => h("td", { "data-label": name, class: wide ?? "" }, cell(job)))
    )
    return tr
  }
  const put = (job, where = "end") => {
    const existing = rows.get(job.id)
    const tr = rowOf(job)
    if (existing) existing.tr.replaceWith(tr)
    else if (where === "start") tbody.prepend(tr)
    else tbody.append(tr)
    rows.set(job.id, { job, tr })
    empty.hidden = rows.size > 0
  }
  const update = (id, change) => {
    const row = rows.get(id)
    if (row) put({ ...row.job, ...change })
  }
  const show = (items, nextCursor) => {
    rows.clear()
    tbody.replaceChildren()
    for (const job of items) put(job)
    empty.hidden = rows.size > 0
    table.dataset.loaded = "true"
    replace(
      pager,
      cursor ? h("a", { class: "button secondary", href: hrefWith({ cursor: undefined }) }, "First page") : null,
      nextCursor
        ? h("a", { class: "button secondary", href: hrefWith({ cursor: nextCursor }), rel: "next" }, "Next page")
        : null
    )
  }

  // refetches a job whose status changed, for its times and attempt; at most one request per job at a time
  const refetching = new Set()
  const refetch = (id) => {
    if (refetching.has(id)) return
    refetching.add(id)
    get(`/jobs/${encodeURIComponent(id)}`)
      .then((job) => rows.has(id) && put(job))
      .catch(() => {})
      .finally(() => refetching.delete(id))
  }

  const listQuery = { ...filters, sort, order, limit: pageSize }
  const newestFirst = order === "desc" && (sort === "createdAt" || sort === "updatedAt")
  let pending = 0
  const arrived = (job) => {
    if (rows.has(job.id)) return put(job)
    if (!cursor && newestFirst) return put(job, "start")
    pending += 1
    replace(
      notice,
      `${pending} more matching job${pending === 1 ? "" : "s"} since this page was loaded. `,
      h(
        "a",
        {
          href: hrefWith({}),
          onclick: () => setTimeout(() => window.dispatchEvent(new HashChangeEvent("hashchange")))
        },
        "Reload"
      )
    )
    notice.hidden = false
  }

  if (cursor) {
    get("/jobs", { ...listQuery, cursor })
      .then((page) => show(page.items, page.nextCursor))
      .catch((error) => replace(notice, describeError(error)) && (notice.hidden = false))
  }
  cleanups.push(
    stream(
      "/events",
      listQuery,
      {
        snapshot: (page) => {
          if (!cursor) show(page.items, page.nextCursor)
          refreshStats()
        },
        created: (job) => {
          arrived(job)
          refreshStats()
        },
        entered: (job) => arrived(job),
        status: (event) => {
          update(event.jobId, { status: event.status, terminalReason: event.terminalReason })
          refetch(event.jobId)
          refreshStats()
          onChange(event)
        },
        progress: (event) => update(event.jobId, { progress: event.progress }),
        left: (event) => rows.get(event.jobId)?.tr.classList.add("left"),
        deleted: (event) => {
          rows.get(event.jobId)?.tr.remove()
          rows.delete(event.jobId)
          refreshStats()
        }
      },
      setLive
    )
  )

  // running jobs' durations tick
  const ticker = setInterval(() => {
    for (const { job, tr } of rows.values()) {
      if (job.startedAt && !isTerminal(job.status)) {
        const cell = tr.querySelector(".duration")
        if (cell) cell.textContent = duration(runTime(job))
      }
    }
  }, 1000)
  cleanups.push(() => clearInterval(ticker))

  return () => cleanups.forEach((f) => f())
}
