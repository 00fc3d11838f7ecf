import { runEngineConformance, runStoreConformance } from "@jobloom/core/testing"
import { layerFresh } from "./utils.js"

// each suite in a fresh schema of its own, dropped when the suite ends
runStoreConformance("PgJobStore", layerFresh())

runEngineConformance("PgJobStore engine", layerFresh())
