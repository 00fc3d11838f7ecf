/**
 * `tsx src/profile.ts <file.cpuprofile> [top]`: where a worker's CPU time goes, from a V8 CPU profile written by
 * `pnpm bench --cpu-prof <engine>`. Prints self time by package (or source file for jobloom's own code) and the
 * hottest functions, with the share of idle time (the process waiting on I/O) shown apart, and the bundled functions
 * (the bench's and jobloom's sources) by inclusive time.
 */
import { readFileSync } from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
  readonly startTime: number
  readonly endTime: number
}

const [file, topArg] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: profile.ts <file.cpuprofile> [top]")
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
for (let k = 0; k < profile.samples.length; k++) {
  const id = profile.samples[k]!
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[k] ?? 0))
}
const total = [...self.values()].reduce((a, b) => a + b, 0)

/** A package name from a module URL, or the workspace file for jobloom's own sources. */
const where = (url: string): string => {
  if (url === "") return "(native / V8)"
  const pnpm = url.match(/node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (pnpm) return pnpm[1]!
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (nm) return nm[1]!
  if (url.startsWith("node:")) return "node (built-in)"
  const out = url.match(/\/out\/(?:run-[^/]+\/)?engines\/(.+)$/)
  if (out) return `bench bundle ${out[1]}`
  return url.replace(/^file:\/\//, "")
}

const groups = new Map<string, number>()
const functions = new Map<string, number>()
for (const [id, us] of self) {
  const node = byId.get(id)!
  const { functionName, url, lineNumber } = node.callFrame
  const special = ["(idle)", "(garbage collector)", "(program)"].includes(functionName)
  const group = special ? functionName : where(url)
  groups.set(group, (groups.get(group) ?? 0) + us)
  const fn = special ? functionName : `${functionName || "(anonymous)"} ${where(url)}:${lineNumber + 1}`
  functions.set(fn, (functions.get(fn) ?? 0) + us)
}

// inclusive time of jobloom's own functions (the bundle), counted once per sample even under recursion
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const inclusive = new Map<string, number>()
for (const [id, us] of self) {
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const { functionName, url, lineNumber } = byId.get(cur)!.callFrame
    if (!/\/out\/(?:run-[^/]+\/)?engines\//.test(url)) continue
    const key = `${functionName || "(anonymous)"} ${where(url)}:${lineNumber + 1}`
    if (seen.has(key)) continue
    seen.add(key)
    inclusive.set(key, (inclusive.get(key) ?? 0) + us)
  }
}

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`
console.log(`profile ${file}: ${(total / 1000).toFixed(0)} ms sampled`)
console.log("\nself time by package:")
for (const [group, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)} ${ms(us)}  ${group}`)
}
console.log("\nhottest functions (self time):")
for (const [fn, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)} ${ms(us)}  ${fn}`)
}
console.log("\nbundled (bench and jobloom) functions by inclusive time:")
for (const [fn, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)} ${ms(us)}  ${fn}`)
}
