import { runScheduleConformance } from "@jobloom/core/testing"
import { layerFresh } from "./utils.js"

// in a fresh schema of its own, dropped when the suite ends
runScheduleConformance("PgJobStore schedules", layerFresh())
