/**
 * jobloom is written against Effect 3. Effect 4 changed the runtime under the same module names, so with a 4.x
 * forced in (`npm install --force`, overrides) the first Schema jobloom builds crashes deep inside `SchemaAST`. This
 * module is the first one `@jobloom/core` evaluates, and it names the problem instead.
 */
import { createRequire } from "node:module"

/** The `effect` version this package resolves, when its package.json can be read. */
const installed = ((): string | undefined => {
  try {
    const pkg: unknown = createRequire(import.meta.url)("effect/package.json")
    return typeof pkg === "object" && pkg !== null && "version" in pkg ? String(pkg.version) : undefined
  } catch {
    return undefined
  }
})()

/** Throws when the resolved `effect` is not a 3.x. */
export const check = (version: string | undefined = installed): void => {
  if (version === undefined || version.startsWith("3.")) return
  throw new Error(
    `jobloom needs Effect 3 (effect ^3.22), but effect ${version} is installed: install effect@3 ` +
      `(npm install effect@3) and the @effect/* versions jobloom's peerDependencies name`
  )
}

check()
