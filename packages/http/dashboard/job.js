// A job's page: stages with their params, item counters, the log (live tail, paging back), the result, the last
// error, times, metadata, the raw JSON, and the actions authorize and the status allow.
import { describeError, get, request, settings, setLive, stream } from "./api.js"
import { bar, chip, duration, h, isTerminal, jsonBlock, percent, replace, runTime, time, timeEl, toast } from "./dom.js"

const actionLabels = {
  run: "Run",
  cancel: "Cancel",
  retry: "Retry",
  pause: "Pause",
  resume: "Resume",
  delete: "Delete"
}

/** The actions to offer: those the job's `userPermissions` grant and its status allows (the engine's table). */
export const offered = (job) =>
  Object.keys(actionLabels).filter(
    (action) => job.userPermissions?.includes(action) && (settings.allowedFrom[action] ?? []).includes(job.status)
  )

const definition = (pairs) =>
  h(
    "dl",
    { class: "facts" },
    pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])
  )

/** Renders the page of job `id` into `root`; returns the cleanup. */
export const renderJob = (root, id) => {
  const cleanups = []
  let job
  let closeStream = () => {}
  let resultShown = null

  const header = h("div", { class: "heading" })
  const actions = h("div", { class: "actions", role: "group", "aria-label": "Actions" })
  const actionError = h("p", { class: "error-text", role: "alert", hidden: true })
  const summary = h("section", { class: "card", "aria-labelledby": "summary-h" })
  const stages = h("section", { class: "card", "aria-labelledby": "stages-h" })
  const details = h("section", { class: "card", "aria-labelledby": "details-h" })
  const errorCard = h("section", { class: "card error-card", "aria-labelledby": "error-h", hidden: true })
  const result = h("section", { class: "card", "aria-labelledby": "result-h", hidden: true })
  const logList = h("ol", { class: "log", "aria-live": "off" })
  const logMore = h("button", { type: "button", class: "secondary", hidden: true }, "Older lines")
  const logs = h(
    "section",
    { class: "card", "aria-labelledby": "log-h" },
    h("h2", { id: "log-h" }, "Log ", h("small", { class: "muted" }, "newest first")),
    logList,
    logMore
  )
  const raw = h("details", { class: "card raw" }, h("summary", {}, "Raw JSON"), h("pre", { class: "json" }))

  replace(
    root,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Jobs"), " / ", h("span", { class: "id" }, id)),
    header,
    actions,
    actionError,
    h(
      "div",
      { class: "grid" },
      h("div", { class: "col" }, summary, stages, errorCard, result, logs),
      h("div", { class: "col side" }, details)
    ),
    raw
  )

  // ---- rendering ----
  const renderHeader = () => {
    replace(
      header,
      h("h1", {}, job.name, " ", chip(job.status)),
      job.terminalReason ? h("span", { class: "muted" }, `reason: ${job.terminalReason}`) : null
    )
    replace(
      actions,
      offered(job).map((action) =>
        h(
          "button",
          {
            type: "button",
            class: action === "delete" || action === "cancel" ? "danger" : "",
            dataset: { action },
            onclick: () => act(action)
          },
          actionLabels[action]
        )
      )
    )
  }

  const renderProgress = () => {
    const p = job.progress
    const items = p.items
    replace(
      summary,
      h("h2", { id: "summary-h" }, "Progress"),
      h(
        "div",
        { class: "summary-bar" },
        bar(p.summary.progress, "summary progress", job.status),
        h("b", {}, percent(p.summary.progress))
      ),
      items
        ? h(
            "div",
            { class: "items", "aria-label": "Items" },
            [
              ["total", items.total],
              ["pending", items.pending],
              ["completed", items.completed],
              ["failed", items.failed]
            ].map(([k, v]) => h("div", { class: `item item-${k}` }, h("b", {}, v), h("span", {}, k)))
          )
        : null
    )
    replace(
      stages,
      h("h2", { id: "stages-h" }, "Stages"),
      p.stages.length === 0
        ? h("p", { class: "muted" }, "This type declares no stages.")
        : h(
            "ol",
            { class: "stages" },
            p.stages.map((stage) =>
              h(
                "li",
                { class: "stage", dataset: { stage: stage.key, status: stage.status } },
                h(
                  "div",
                  { class: "stage-head" },
                  h("b", {}, stage.name),
                  chip(stage.status),
                  h("span", { class: "pct" }, percent(stage.progress))
                ),
                bar(stage.progress, `${stage.name} progress`, stage.status),
                stage.params.length
                  ? h(
                      "dl",
                      { class: "params" },
                      stage.params.map((param) => [
                        h("dt", {}, param.name),
                        h(
                          "dd",
                          {},
                          param.value === null || param.value === undefined
                            ? "—"
                            : typeof param.value === "object"
                              ? JSON.stringify(param.value)
                              : String(param.value)
                        )
                      ])
                    )
                  : null
              )
            )
          )
    )
  }

  const renderDetails = () => {
    replace(
      details,
      h("h2", { id: "details-h" }, "Details"),
      definition([
        ["ID", h("code", {}, job.id)],
        ["Number", job.number],
        ["Type", h("code", {}, job.type)],
        ["Queue", job.queue],
        ["Owner", job.owner],
        ["Priority", job.priority],
        ["Attempt", `${job.attempt} of ${job.maxAttempts}`],
        [
          "Tags",
          job.tags.length
            ? job.tags.map((t) => h("a", { class: "tag", href: `#/?tag=${encodeURIComponent(t)}` }, t))
            : null
        ],
        ["Batch", job.batchId ? h("a", { href: `#/batches/${encodeURIComponent(job.batchId)}` }, job.batchId) : null],
        ["Created", timeEl(job.createdAt)],
        ["Queued", job.queuedAt ? timeEl(job.queuedAt) : null],
        ["Started", job.startedAt ? timeEl(job.startedAt) : null],
        ["Finished", job.finishedAt ? timeEl(job.finishedAt) : null],
        ["Updated", timeEl(job.updatedAt)],
        ["Queue time", duration(job.queueTimeMs)],
        ["Duration", h("span", { class: "duration" }, duration(job.durationMs ?? runTime(job)))],
        ["Run at", timeEl(job.runAt)],
        ["Deadline", job.deadline ? timeEl(job.deadline) : null],
        ["Timeout", job.timeoutMs ? duration(job.timeoutMs) : null],
        [
          "Depends on",
          job.dependsOn?.length ? job.dependsOn.map((d) => h("a", { href: `#/jobs/${d}`, class: "dep" }, d)) : null
        ],
        ["Lease", job.lease ? `${job.lease.workerId} until ${time(job.lease.expiresAt)}` : null],
        ["Callback", job.callbackUrl],
        ["Idempotency key", job.idempotencyKey]
      ]),
      h("h3", {}, "Params"),
      jsonBlock(job.params),
      h("h3", {}, "Metadata"),
      Object.keys(job.metadata ?? {}).length ? jsonBlock(job.metadata) : h("p", { class: "muted" }, "none")
    )
    errorCard.hidden = job.lastError === null
    if (job.lastError) {
      replace(
        errorCard,
        h("h2", { id: "error-h" }, "Last error"),
        h("p", {}, job.lastError.tag ? h("code", {}, job.lastError.tag) : null, " at ", timeEl(job.lastError.at)),
        h("pre", { class: "stack", tabindex: 0 }, job.lastError.message)
      )
    }
    raw.querySelector("pre").textContent = JSON.stringify(job, null, 2)
  }

  // the compact view is offered only when the type's projection differs from the result
  const loadResult = async () => {
    try {
      const path = `/jobs/${encodeURIComponent(id)}/result`
      const [full, compact] = await Promise.all([get(path), get(path, { compact: "true" })])
      const differs = JSON.stringify(full.value) !== JSON.stringify(compact.value)
      let showCompact = false
      const body = jsonBlock(full.value, "json result")
      const toggle = h(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-pressed": "false",
          onclick: () => {
            showCompact = !showCompact
            body.textContent = JSON.stringify(showCompact ? compact.value : full.value, null, 2)
            toggle.setAttribute("aria-pressed", String(showCompact))
            toggle.textContent = showCompact ? "Full view" : "Compact view"
          }
        },
        "Compact view"
      )
      replace(
        result,
        h("div", { class: "card-head" }, h("h2", { id: "result-h" }, "Result"), differs ? toggle : null),
        body
      )
      result.hidden = false
      resultShown = job.resultId
    } catch (error) {
      if (error.status !== 404) toast(describeError(error))
    }
  }

  const render = () => {
    renderHeader()
    renderProgress()
    renderDetails()
    if (job.resultId && job.resultId !== resultShown) loadResult()
    if (!job.resultId) result.hidden = true
  }

  // ---- log ----
  let logCursor = null
  const logLine = (entry) =>
    h(
      "li",
      { class: `line level-${entry.level}` },
      h("time", { datetime: entry.at, title: entry.at }, time(entry.at)),
      h("span", { class: "level" }, entry.level),
      h("span", { class: "msg" }, entry.message)
    )
  // a line can come both from the stream and from a page read at the same moment: show it once
  const seenLines = new Set()
  const fresh = (entry) => {
    const key = `${entry.at}|${entry.level}|${entry.message}`
    if (seenLines.has(key)) return false
    seenLines.add(key)
    return true
  }
  const loadLogs = async () => {
    const page = await get(`/jobs/${encodeURIComponent(id)}/logs`, { limit: 100, cursor: logCursor ?? undefined })
    for (const entry of page.items) if (fresh(entry)) logList.append(logLine(entry))
    logCursor = page.nextCursor
    logMore.hidden = logCursor === null
  }
  logMore.addEventListener("click", () => loadLogs().catch((e) => toast(describeError(e))))

  // ---- actions ----
  const act = async (action) => {
    if (action === "delete" && !confirm(`Delete job “${job.name}” with its logs and result?`)) return
    actionError.hidden = true
    for (const b of actions.querySelectorAll("button")) b.disabled = true
    try {
      if (action === "delete") {
        await request("DELETE", `/jobs/${encodeURIComponent(id)}`)
        toast("Job deleted", "info")
        location.hash = "#/"
        return
      }
      job = await request("POST", `/jobs/${encodeURIComponent(id)}/${action}`)
      render()
      if (!isTerminal(job.status)) follow()
    } catch (error) {
      actionError.textContent = describeError(error)
      actionError.hidden = false
      for (const b of actions.querySelectorAll("button")) b.disabled = false
    }
  }

  // ---- live ----
  const refresh = () =>
    get(`/jobs/${encodeURIComponent(id)}`)
      .then((fresh) => {
        job = fresh
        render()
      })
      .catch(() => {})
  const follow = () => {
    closeStream()
    let first = true
    closeStream = stream(
      `/jobs/${encodeURIComponent(id)}/events`,
      {},
      {
        snapshot: (snapshot) => {
          job = snapshot
          render()
          if (isTerminal(job.status)) stop()
          // a reconnect's snapshot: lines written meanwhile are in the log route
          if (!first) {
            logList.replaceChildren()
            seenLines.clear()
            logCursor = null
            loadLogs().catch(() => {})
          }
          first = false
        },
        progress: (event) => {
          job = { ...job, progress: event.progress }
          renderProgress()
        },
        status: (event) => {
          job = { ...job, status: event.status, terminalReason: event.terminalReason }
          renderHeader()
          // times, attempts, permissions and the result change with the status
          refresh()
          if (isTerminal(event.status)) stop()
        },
        log: (entry) => fresh(entry) && logList.prepend(logLine(entry)),
        deleted: () => {
          stop()
          replace(header, h("h1", {}, job?.name ?? id, " ", h("span", { class: "chip" }, "DELETED")))
          actions.replaceChildren()
        }
      },
      setLive
    )
  }
  // the server ends a terminal job's stream; without closing it the browser would reconnect forever
  const stop = () => {
    closeStream()
    closeStream = () => {}
    setLive("idle")
  }
  cleanups.push(() => closeStream())

  get(`/jobs/${encodeURIComponent(id)}`)
    .then((first) => {
      job = first
      render()
      if (!isTerminal(job.status)) follow()
      return loadLogs()
    })
    .catch((error) =>
      replace(
        root,
        h("h1", {}, "Job"),
        h("p", { class: "error-text" }, describeError(error)),
        h("a", { href: "#/" }, "Back to the jobs")
      )
    )

  const ticker = setInterval(() => {
    if (job && job.startedAt && !isTerminal(job.status)) {
      const el = details.querySelector(".duration")
      if (el) el.textContent = duration(runTime(job))
    }
  }, 1000)
  cleanups.push(() => clearInterval(ticker))
  return () => cleanups.forEach((f) => f())
}
