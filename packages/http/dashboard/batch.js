// A batch's page: its counts by status and overall state, and its jobs, live.
import { describeError, get } from "./api.js"
import { chip, h, replace, statuses } from "./dom.js"
import { renderList } from "./list.js"

/** Renders the page of batch `id`; returns the cleanup. */
export const renderBatch = (root, id, query) => {
  const summary = h("section", { class: "card batch", "aria-label": "Batch summary" })
  const list = h("div")
  replace(root, h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Jobs"), " / batch"), summary, list)
  let timer
  const load = () =>
    get(`/batches/${encodeURIComponent(id)}`)
      .then((batch) =>
        replace(
          summary,
          h(
            "h1",
            {},
            "Batch ",
            h("code", {}, id),
            " ",
            h("span", { class: `chip state-${batch.state.toLowerCase()}` }, batch.state.replace("_", " "))
          ),
          h(
            "div",
            { class: "counts" },
            h("span", { class: "count" }, h("b", {}, batch.total), " jobs"),
            statuses
              .filter((s) => batch.byStatus[s] > 0)
              .map((s) =>
                h("span", { class: `count count-${s.toLowerCase()}` }, h("b", {}, batch.byStatus[s]), " ", chip(s))
              )
          )
        )
      )
      .catch((error) => replace(summary, h("h1", {}, "Batch"), h("p", { class: "error-text" }, describeError(error))))
  load()
  const cleanup = renderList(list, query, {
    fixed: { batchId: id },
    title: "Jobs of this batch",
    onChange: () => {
      clearTimeout(timer)
      timer = setTimeout(load, 500)
    }
  })
  return () => {
    clearTimeout(timer)
    cleanup()
  }
}
