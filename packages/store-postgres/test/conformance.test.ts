import { runStoreConformance } from "@jobloom/core/testing"
import { layerFresh } from "./utils.js"

runStoreConformance("PgJobStore", layerFresh())
