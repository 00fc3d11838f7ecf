#!/usr/bin/env node
/**
 * The `jobloom` executable.
 */
import { main } from "./main.js"

main(process.argv.slice(2)).then(
  // exit once stdout is flushed (a pipe is written asynchronously), and whatever handles are left open
  (code) => void process.stdout.write("", () => process.exit(code)),
  (error: unknown) => {
    console.error(`jobloom: ${String(error)}`)
    process.exit(1)
  }
)
