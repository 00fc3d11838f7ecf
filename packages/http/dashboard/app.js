// The dashboard's entry: a hash router over the list, a job's page, the create form and a batch's page; the theme.
import { setLive } from "./api.js"
import { renderBatch } from "./batch.js"
import { renderCreate } from "./create.js"
import { renderJob } from "./job.js"
import { renderList } from "./list.js"

const view = document.getElementById("view")
let cleanup = () => {}

const route = () => {
  cleanup()
  const [path, search = ""] = (location.hash.slice(1) || "/").split("?")
  const query = new URLSearchParams(search)
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent)
  setLive("idle")
  let current = "jobs"
  if (parts[0] === "jobs" && parts[1]) cleanup = renderJob(view, parts[1])
  else if (parts[0] === "batches" && parts[1]) cleanup = renderBatch(view, parts[1], query)
  else if (parts[0] === "new") {
    cleanup = renderCreate(view, query)
    current = "new"
  } else cleanup = renderList(view, query)
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === current) link.setAttribute("aria-current", "page")
    else link.removeAttribute("aria-current")
  }
}

// ---- theme: follows the system unless chosen; the choice is kept in this browser ----
const themes = ["auto", "light", "dark"]
const themeButton = document.getElementById("theme")
const applyTheme = (theme) => {
  if (theme === "auto") delete document.documentElement.dataset.theme
  else document.documentElement.dataset.theme = theme
  themeButton.textContent = `Theme: ${theme}`
}
let theme = localStorage.getItem("jobloom-theme") ?? "auto"
if (!themes.includes(theme)) theme = "auto"
applyTheme(theme)
themeButton.addEventListener("click", () => {
  theme = themes[(themes.indexOf(theme) + 1) % themes.length]
  localStorage.setItem("jobloom-theme", theme)
  applyTheme(theme)
})

window.addEventListener("hashchange", route)
route()
