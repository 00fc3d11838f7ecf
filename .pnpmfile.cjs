// pnpm 11+ passes only a short list of environment variables to install scripts, and ignores `nodedir` in .npmrc.
// better-sqlite3 has no prebuilt binary reachable here and builds from source: point node-gyp at the machine's Node
// headers instead of letting it download them.
module.exports = {
  hooks: {
    updateConfig(config) {
      config.extraEnv = { ...config.extraEnv, npm_config_nodedir: process.env.npm_config_nodedir || "/usr" }
      return config
    }
  }
}
