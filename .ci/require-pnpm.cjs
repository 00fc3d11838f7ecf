// Root `preinstall` and `start` guard: this workspace installs and runs with pnpm (workspace: links, allowBuilds,
// overrides); npm would "succeed" with a broken tree and then fail with `pnpm: not found`. Say so at once instead.
const agent = process.env.npm_config_user_agent || ""
if (!agent.startsWith("pnpm/")) {
  const tool = agent.split("/")[0] || "this tool"
  console.error(
    `jobloom's workspace uses pnpm (10 or later), not ${tool}: npm install -g pnpm@latest, then pnpm install and pnpm start`
  )
  process.exit(1)
}
const major = Number(agent.slice("pnpm/".length).split(".")[0])
if (major < 10) {
  console.error(`jobloom's workspace needs pnpm 10 or later (this is pnpm ${major}): npm install -g pnpm@latest`)
  process.exit(1)
}
