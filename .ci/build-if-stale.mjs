// `pnpm start`'s build step: runs `tsc -b` on a project (and, through its references, the packages it uses) only
// when a source, tsconfig or package.json is newer than its last build. The up-to-date check of `tsc -b` itself
// takes a second or two; this one a few milliseconds, so a start with nothing changed goes straight to `node`.
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname ?? Path.dirname(new URL(import.meta.url).pathname), "..")
const project = Path.resolve(root, process.argv[2] ?? "examples/quickstart")
const stamp = Path.join(project, "dist", ".built")

const projects = new Set()
const visit = (dir) => {
  if (projects.has(dir)) return
  projects.add(dir)
  const config = JSON.parse(Fs.readFileSync(Path.join(dir, "tsconfig.build.json"), "utf8"))
  for (const ref of config.references ?? []) visit(Path.dirname(Path.resolve(dir, ref.path)))
}
visit(project)

const newest = (path) => {
  const stat = Fs.statSync(path, { throwIfNoEntry: false })
  if (stat === undefined) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...Fs.readdirSync(path).map((name) => newest(Path.join(path, name))))
}
const inputs = [
  Path.join(root, "tsconfig.base.json"),
  Path.join(root, "tsconfig.build.json"),
  ...[...projects].flatMap((dir) => ["src", "tsconfig.build.json", "package.json"].map((f) => Path.join(dir, f)))
]
const built = Fs.statSync(stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0
if (built === 0 || Math.max(...inputs.map(newest)) > built) {
  execFileSync(Path.join(root, "node_modules", ".bin", "tsc"), ["-b", Path.join(project, "tsconfig.build.json")], {
    stdio: "inherit"
  })
  Fs.writeFileSync(stamp, `${new Date().toISOString()}\n`)
}
