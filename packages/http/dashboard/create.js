// Creating a job: pick a registered type; its params form is generated from the type's params JSON Schema.
import { describeError, get, request } from "./api.js"
import { h, replace } from "./dom.js"

/** The control for one JSON Schema property; `read` gives its value, or undefined to leave it out. */
const control = (name, schema, required) => {
  const nullable = Array.isArray(schema.anyOf) && schema.anyOf.some((s) => s.type === "null")
  const base = nullable ? (schema.anyOf.find((s) => s.type !== "null") ?? {}) : schema
  const id = `param-${name}`
  const help = schema.description ?? base.description
  const hint = [
    base.minimum !== undefined ? `≥ ${base.minimum}` : null,
    base.maximum !== undefined ? `≤ ${base.maximum}` : null,
    nullable ? "empty = null" : null
  ]
    .filter(Boolean)
    .join(", ")
  let input
  let read
  if (base.type === "boolean") {
    input = h(
      "select",
      { id, name },
      h("option", { value: "" }, "(default)"),
      h("option", { value: "true" }, "true"),
      h("option", { value: "false" }, "false")
    )
    read = () => (input.value === "" ? undefined : input.value === "true")
  } else if (Array.isArray(base.enum)) {
    input = h(
      "select",
      { id, name },
      h("option", { value: "" }, "(default)"),
      base.enum.map((v) => h("option", { value: JSON.stringify(v) }, String(v)))
    )
    read = () => (input.value === "" ? undefined : JSON.parse(input.value))
  } else if (base.type === "integer" || base.type === "number") {
    input = h("input", {
      id,
      name,
      type: "number",
      step: base.type === "integer" ? 1 : "any",
      min: base.minimum,
      max: base.maximum,
      required: required && !nullable,
      inputmode: "decimal"
    })
    read = () => (input.value === "" ? (nullable ? null : undefined) : Number(input.value))
  } else if (base.type === "string") {
    input = h("input", {
      id,
      name,
      type: "text",
      required: required && !nullable,
      minlength: base.minLength,
      maxlength: base.maxLength
    })
    read = () => (input.value === "" ? (nullable ? null : undefined) : input.value)
  } else {
    input = h("textarea", { id, name, rows: 3, placeholder: "JSON", class: "mono" })
    read = () => (input.value.trim() === "" ? undefined : JSON.parse(input.value))
  }
  const row = h(
    "div",
    { class: "field", dataset: { param: name } },
    h("label", { for: id }, name, required ? h("span", { class: "req", "aria-label": "required" }, " *") : null),
    input,
    help || hint ? h("small", { class: "muted" }, [help, hint].filter(Boolean).join(" · ")) : null,
    h("small", { class: "error-text field-error", hidden: true })
  )
  return { name, row, read }
}

/** Renders the create page; `query.type` preselects a type. */
export const renderCreate = (root, query) => {
  const typeSelect = h("select", { id: "job-type", name: "type", required: true })
  const paramsBox = h("fieldset", { class: "params-form" }, h("legend", {}, "Params"))
  const errorBox = h("div", { class: "error-text", role: "alert", hidden: true })
  const common = {
    name: h("input", { id: "job-name", name: "name", type: "text", maxlength: 500, placeholder: "the type's name" }),
    queue: h("input", { id: "job-queue", name: "queue", type: "text", placeholder: "the type's queue" }),
    owner: h("input", { id: "job-owner", name: "owner", type: "text" }),
    tags: h("input", { id: "job-tags", name: "tags", type: "text", placeholder: "comma separated" }),
    priority: h("input", { id: "job-priority", name: "priority", type: "number", step: 1 }),
    maxAttempts: h("input", { id: "job-attempts", name: "maxAttempts", type: "number", min: 1, max: 1000, step: 1 })
  }
  const startNow = h("input", { id: "job-start", type: "checkbox", checked: true })
  let fields = []
  let types = []

  const showParams = () => {
    const type = types.find((t) => t.key === typeSelect.value)
    const schema = type?.paramsSchema ?? {}
    const required = new Set(schema.required ?? [])
    fields = Object.entries(schema.properties ?? {}).map(([name, prop]) => control(name, prop, required.has(name)))
    replace(
      paramsBox,
      h("legend", {}, "Params"),
      type?.description ? h("p", { class: "muted" }, type.description) : null,
      fields.length ? fields.map((f) => f.row) : h("p", { class: "muted" }, "This type takes no params.")
    )
  }

  const submit = async (event) => {
    event.preventDefault()
    errorBox.hidden = true
    for (const el of form.querySelectorAll(".field-error")) el.hidden = true
    const params = {}
    try {
      for (const f of fields) {
        const value = f.read()
        if (value !== undefined) params[f.name] = value
      }
    } catch (error) {
      errorBox.textContent = `params: ${error.message}`
      errorBox.hidden = false
      return
    }
    const body = { type: typeSelect.value, params }
    for (const key of ["name", "queue", "owner"]) if (common[key].value.trim()) body[key] = common[key].value.trim()
    for (const key of ["priority", "maxAttempts"]) if (common[key].value !== "") body[key] = Number(common[key].value)
    const tags = common.tags.value
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean)
    if (tags.length) body.tags = tags
    try {
      const job = await request("POST", "/jobs", { body, query: startNow.checked ? { startNow: "true" } : {} })
      location.hash = `#/jobs/${job.id}`
    } catch (error) {
      errorBox.textContent = describeError(error)
      errorBox.hidden = false
      // put each field error next to its field
      for (const e of error.problem?.errors ?? []) {
        const name = e.path.startsWith("params.") ? e.path.slice(7).split(".")[0] : null
        const slot = name ? form.querySelector(`[data-param="${CSS.escape(name)}"] .field-error`) : null
        if (slot) {
          slot.textContent = e.message
          slot.hidden = false
        }
      }
    }
  }

  const label = (forId, text) => h("label", { for: forId }, text)
  const form = h(
    "form",
    { class: "create card", onsubmit: submit, novalidate: false },
    h("div", { class: "field" }, label("job-type", "Type"), typeSelect),
    paramsBox,
    h(
      "fieldset",
      { class: "common" },
      h("legend", {}, "Job"),
      h("div", { class: "field" }, label("job-name", "Name"), common.name),
      h("div", { class: "field" }, label("job-queue", "Queue"), common.queue),
      h("div", { class: "field" }, label("job-owner", "Owner"), common.owner),
      h("div", { class: "field" }, label("job-tags", "Tags"), common.tags),
      h("div", { class: "field" }, label("job-priority", "Priority"), common.priority),
      h("div", { class: "field" }, label("job-attempts", "Max attempts"), common.maxAttempts)
    ),
    h("label", { class: "check" }, startNow, " Queue at once (otherwise the job waits CREATED until run)"),
    errorBox,
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit" }, "Create job"),
      h("a", { class: "button secondary", href: "#/" }, "Cancel")
    )
  )
  typeSelect.addEventListener("change", showParams)
  replace(root, h("div", { class: "heading" }, h("h1", {}, "New job")), form)

  get("/job-types")
    .then(({ items }) => {
      types = items
      for (const t of items)
        typeSelect.append(h("option", { value: t.key, selected: t.key === query.get("type") }, `${t.name} (${t.key})`))
      showParams()
    })
    .catch((error) => {
      errorBox.textContent = describeError(error)
      errorBox.hidden = false
    })
  return () => {}
}
